# syntax=docker/dockerfile:1
# One image, both processes: `agentmeter-aggregator` (the default entrypoint) and `agentmeter-operator`.
#   make docker-build IMG=ghcr.io/agentmeter/agentmeter:0.1.0
ARG DOTNET_VERSION=10.0
ARG NODE_VERSION=22

# Node.js only feeds the build stage: the aggregator's build bundles the dashboard with npm.
FROM node:${NODE_VERSION}-bookworm-slim AS node

FROM mcr.microsoft.com/dotnet/sdk:${DOTNET_VERSION} AS build
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && node --version && npm --version
WORKDIR /src
# Restore first, from the project files alone, so source edits keep the package layer cached.
COPY Directory.Build.props Directory.Packages.props ./
COPY src/Entities/*.csproj src/Entities/
COPY src/Aggregator/*.csproj src/Aggregator/
COPY src/Operator/*.csproj src/Operator/
RUN dotnet restore src/Aggregator && dotnet restore src/Operator
COPY src/ src/
# The dashboard's npm packages, when the aggregator has a dashboard (checked here, at build time);
# the aggregator's own build then bundles it.
RUN if [ -f src/Aggregator/Dashboard/package.json ]; then \
      cd src/Aggregator/Dashboard && npm ci --no-audit --no-fund --loglevel=error; \
    else echo "no src/Aggregator/Dashboard/package.json: building without a dashboard bundle"; fi
RUN dotnet publish src/Aggregator -c Release --no-restore -o /out/aggregator \
 && dotnet publish src/Operator -c Release --no-restore -o /out/operator

# Only the ASP.NET runtime and the two published apps.
FROM mcr.microsoft.com/dotnet/aspnet:${DOTNET_VERSION}
LABEL org.opencontainers.image.title="agentmeter" \
      org.opencontainers.image.description="AgentMeter aggregator and operator"
COPY --from=build /out/aggregator /app/aggregator
COPY --from=build /out/operator /app/operator
# The app hosts resolve their own path through these links, so each finds its assemblies.
RUN ln -s /app/aggregator/agentmeter-aggregator /usr/local/bin/agentmeter-aggregator \
 && ln -s /app/operator/agentmeter-operator /usr/local/bin/agentmeter-operator
# DOTNET_ROOT: where the app hosts find the runtime. HOME=/tmp: the pods mount a writable emptyDir
# there, everything else is read-only.
ENV DOTNET_ROOT=/usr/share/dotnet \
    HOME=/tmp
# The aggregator listens on 8080 (the base image's ASPNETCORE_HTTP_PORTS), the operator on 8081.
EXPOSE 8080 8081
# Non-root and numeric, so that runAsNonRoot can verify it; the same UID the chart, config/manager
# and the operator's aggregator Deployment set (65532, the "nonroot" UID of distroless images).
USER 65532:65532
WORKDIR /app
ENTRYPOINT ["agentmeter-aggregator"]
CMD ["serve"]
