# syntax=docker/dockerfile:1
# One image, both processes: `agentmeter-aggregator` (the default entrypoint) and `agentmeter-operator`.
#   make docker-build IMG=ghcr.io/agentmeter/agentmeter:0.1.0
# The operator is a Native AOT binary (no .NET runtime needed, < 100 MB at 1,000 UsageAlerts, docs/benchmarks.md).
# An operator-only image on the runtime-deps base: docker build --target operator -t IMG-operator .
#
# Base images are pinned to exact versions: the .NET 10.0.401 SDK and 10.0.12 runtime, and Node.js 20.20.2,
# the toolchain the tests run on. `make pin-images` (needs docker buildx and the registries) adds the digest
# each tag points to, so a rebuild cannot pick up a moved tag: FROM image:tag@sha256:... (docs/install.md).

# Node.js only feeds the build stage: the aggregator's build bundles the dashboard with npm.
FROM node:20.20.2-bookworm-slim AS node

# Ubuntu 24.04, the distribution of the chiseled final images: the AOT operator links against the same glibc.
FROM mcr.microsoft.com/dotnet/sdk:10.0.401-noble AS build
# Native AOT links with clang; zlib for the runtime's compression support. The stage runs on the target
# platform, so the operator is compiled for the image's architecture (AOT does not cross-compile here).
RUN apt-get update && apt-get install -y --no-install-recommends clang zlib1g-dev && rm -rf /var/lib/apt/lists/*
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
# The operator's publish restores again: Native AOT needs the ILCompiler package of the build's runtime identifier.
RUN dotnet publish src/Aggregator -c Release --no-restore -o /out/aggregator \
 && dotnet publish src/Operator -c Release -o /out/operator \
 && rm -f /out/operator/*.dbg /out/operator/*.pdb /out/aggregator/*.pdb

# Operator-only image: the native binary on the smallest base that carries its native dependencies
# (glibc, OpenSSL, CA certificates); chiseled: no shell, no package manager.
FROM mcr.microsoft.com/dotnet/runtime-deps:10.0.12-noble-chiseled AS operator
COPY --from=build /out/operator/agentmeter-operator /usr/local/bin/agentmeter-operator
ENV HOME=/tmp
EXPOSE 8081
USER 65532:65532
ENTRYPOINT ["agentmeter-operator"]
CMD ["run"]

# Only the ASP.NET runtime (for the aggregator) and the two published apps, on Ubuntu's chiseled base: no shell,
# no package manager, a fraction of the Debian image. "-extra" keeps ICU and tzdata (RetentionPolicy time zones).
FROM mcr.microsoft.com/dotnet/aspnet:10.0.12-noble-chiseled-extra
LABEL org.opencontainers.image.title="agentmeter" \
      org.opencontainers.image.description="AgentMeter aggregator and operator"
COPY --from=build /out/aggregator /app/aggregator
COPY --from=build /out/operator /app/operator
# Both processes are found on the PATH (there is no shell to make links with); the aggregator's app host
# finds its assemblies beside itself. DOTNET_ROOT: where the app host finds the runtime. HOME=/tmp: the pods
# mount a writable emptyDir there, everything else is read-only.
ENV PATH=/app/aggregator:/app/operator:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    DOTNET_ROOT=/usr/share/dotnet \
    HOME=/tmp
# The aggregator listens on 8080 (the base image's ASPNETCORE_HTTP_PORTS; OTLP/HTTP at /v1/traces too)
# and 4317 (OTLP/gRPC, Otlp__GrpcPort), the operator on 8081.
EXPOSE 8080 8081 4317
# Non-root and numeric, so that runAsNonRoot can verify it; the same UID the chart, config/manager
# and the operator's aggregator Deployment set (65532, the "nonroot" UID of distroless images).
USER 65532:65532
WORKDIR /app
ENTRYPOINT ["agentmeter-aggregator"]
CMD ["serve"]
