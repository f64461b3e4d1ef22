// Checks Kubernetes objects against prometheus-operator's own CRD schemas (npm @kubernetes-models/prometheus-operator).
// stdin: a JSON array of objects; stdout: a JSON array, per object the list of problems ("/path message"), empty when valid.
import * as v1 from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.setEncoding("utf8");
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
}));

const answers = input.map((object) => {
  const [group, version] = (object.apiVersion ?? "").split("/");
  const Kind = group === "monitoring.coreos.com" && version === "v1" ? v1[object.kind] : undefined;
  if (typeof Kind !== "function") return [`${object.apiVersion} ${object.kind} is not a prometheus-operator kind this check knows`];
  try {
    new Kind(object).validate();
    return [];
  } catch (e) {
    return (e.errors ?? [{ instancePath: "", message: e.message }]).map((err) => `${err.instancePath || "/"} ${err.message}`);
  }
});
process.stdout.write(JSON.stringify(answers));
