using System.Text;

namespace AgentMeter.Aggregator.Tests.Reports;

/// <summary>An RFC 4180 reader (quoted fields with commas, doubled quotes): the test's own, independent of the writer.</summary>
public sealed class Csv
{
    public IReadOnlyList<string> Header { get; }
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Rows { get; }

    private Csv(IReadOnlyList<string> header, IReadOnlyList<IReadOnlyDictionary<string, string>> rows) => (Header, Rows) = (header, rows);

    public static Csv Parse(string text)
    {
        var records = new List<List<string>>();
        var record = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else field.Append(c);
            }
            else if (c == '"') quoted = true;
            else if (c == ',') { record.Add(field.ToString()); field.Clear(); }
            else if (c == '\n')
            {
                record.Add(field.ToString());
                field.Clear();
                records.Add(record);
                record = [];
            }
            else if (c != '\r') field.Append(c);
        }
        if (field.Length > 0 || record.Count > 0) { record.Add(field.ToString()); records.Add(record); }
        var header = records[0];
        var rows = records.Skip(1).Select(r =>
        {
            Assert.Equal(header.Count, r.Count);
            return (IReadOnlyDictionary<string, string>)header.Zip(r).ToDictionary(p => p.First, p => p.Second);
        }).ToList();
        return new Csv(header, rows);
    }
}
