using System.Text.Json.Nodes;

namespace AgentMeter.Deploy.Tests.Support;

/// <summary>
/// The Pod Security Standards' "restricted" profile (baseline included), as the Kubernetes 1.33
/// admission plugin evaluates it, plus the read-only root filesystem this project also requires.
/// Returns one line per violation; an empty list means the pod would be admitted into a namespace
/// labelled pod-security.kubernetes.io/enforce=restricted.
/// </summary>
public static class RestrictedPodSecurity
{
    private static readonly HashSet<string> AllowedVolumeKinds =
        ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"];

    private static readonly HashSet<string> SafeSysctls =
    [
        "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
        "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
        "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
        "net.ipv4.tcp_keepalive_probes",
    ];

    private static readonly HashSet<string> AllowedSeLinuxTypes = ["", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"];

    public static List<string> Violations(JsonObject pod)
    {
        var problems = new List<string>();
        void Check(bool ok, string problem) { if (!ok) problems.Add(problem); }

        foreach (var host in new[] { "hostNetwork", "hostPID", "hostIPC" })
            Check(!IsTrue(pod.At(host)), $"pod: {host} must be unset or false");

        var podContext = pod.At("securityContext") as JsonObject;
        Check(!IsTrue(podContext.At("windowsOptions.hostProcess")), "pod: windowsOptions.hostProcess must not be true");
        CheckSeLinux(podContext, "pod", Check);
        CheckAppArmor(podContext, "pod", Check);
        Check(podContext.Str("seccompProfile.type") is null or "RuntimeDefault" or "Localhost",
            "pod: seccompProfile.type must be RuntimeDefault or Localhost");
        Check(podContext.At("runAsUser")?.GetValue<long>() != 0, "pod: runAsUser must not be 0");
        foreach (var sysctl in podContext.Objects("sysctls"))
            Check(SafeSysctls.Contains(sysctl.Str("name") ?? ""), $"pod: sysctl {sysctl.Str("name")} is not in the safe set");

        foreach (var volume in pod.Objects("volumes"))
        {
            var kinds = volume.Select(kv => kv.Key).Where(k => k != "name").ToList();
            Check(kinds.All(AllowedVolumeKinds.Contains),
                $"volume {volume.Str("name")}: type {string.Join(",", kinds)} is not allowed (only {string.Join(", ", AllowedVolumeKinds)})");
        }

        var podNonRoot = IsTrue(podContext.At("runAsNonRoot"));
        var podSeccomp = podContext.Str("seccompProfile.type") is "RuntimeDefault" or "Localhost";
        foreach (var container in pod.AllContainers())
        {
            var name = $"container {container.Str("name")}";
            var context = container.At("securityContext") as JsonObject;
            Check(!IsTrue(context.At("privileged")), $"{name}: privileged must not be true");
            Check(!IsTrue(context.At("windowsOptions.hostProcess")), $"{name}: windowsOptions.hostProcess must not be true");
            Check(context.Str("procMount") is null or "Default", $"{name}: procMount must be Default");
            CheckSeLinux(context, name, Check);
            CheckAppArmor(context, name, Check);
            foreach (var port in container.Objects("ports"))
                Check(port.At("hostPort") is null || port.At("hostPort")!.GetValue<long>() == 0, $"{name}: hostPort must be unset or 0");

            Check(context.At("allowPrivilegeEscalation") is JsonValue ape && ape.GetValueKind() == System.Text.Json.JsonValueKind.False,
                $"{name}: allowPrivilegeEscalation must be false");
            var nonRoot = context.At("runAsNonRoot");
            Check(nonRoot is null ? podNonRoot : IsTrue(nonRoot), $"{name}: runAsNonRoot must be true (pod or container)");
            Check(context.At("runAsUser")?.GetValue<long>() != 0, $"{name}: runAsUser must not be 0");
            var seccomp = context.Str("seccompProfile.type");
            Check(seccomp is "RuntimeDefault" or "Localhost" || (seccomp is null && podSeccomp),
                $"{name}: seccompProfile.type must be RuntimeDefault or Localhost (pod or container)");
            var drop = context.At("capabilities.drop") as JsonArray;
            Check(drop is not null && drop.Any(d => d?.GetValue<string>() == "ALL"), $"{name}: capabilities.drop must include ALL");
            var add = context.At("capabilities.add") as JsonArray;
            Check(add is null || add.All(a => a?.GetValue<string>() == "NET_BIND_SERVICE"),
                $"{name}: capabilities.add may only hold NET_BIND_SERVICE");
            Check(IsTrue(context.At("readOnlyRootFilesystem")), $"{name}: readOnlyRootFilesystem must be true");
        }
        return problems;
    }

    private static void CheckSeLinux(JsonObject? context, string where, Action<bool, string> check)
    {
        check(AllowedSeLinuxTypes.Contains(context.Str("seLinuxOptions.type") ?? ""), $"{where}: seLinuxOptions.type is not allowed");
        check(context.At("seLinuxOptions.user") is null && context.At("seLinuxOptions.role") is null,
            $"{where}: seLinuxOptions.user and .role must be unset");
    }

    private static void CheckAppArmor(JsonObject? context, string where, Action<bool, string> check) =>
        check(context.Str("appArmorProfile.type") is null or "RuntimeDefault" or "Localhost",
            $"{where}: appArmorProfile.type must be RuntimeDefault or Localhost");

    private static bool IsTrue(JsonNode? node) =>
        node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.True;
}
