using System.Text.Json.Nodes;
using AgentMeter.Entities.Serialization;

namespace AgentMeter.Deploy.Tests.Support;

public static class Yaml
{
    /// <summary>
    /// The mapping documents of a YAML text, scalars typed as Kubernetes reads them (a plain true is a
    /// boolean, a quoted "true" a string), so a value of the wrong type shows.
    /// </summary>
    public static List<JsonObject> Objects(string yaml) => YamlJson.ReadDocuments(yaml).OfType<JsonObject>().ToList();
}
