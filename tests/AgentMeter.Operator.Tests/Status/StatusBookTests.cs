using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Status;

namespace AgentMeter.Operator.Tests.Status;

/// <summary>The book reports the alerts whose state changed and keeps the stored record of those that did not.</summary>
public class StatusBookTests
{
    private static AggregatorAlert Alert(string name, string state, string value) =>
        new() { Namespace = "team-a", Name = name, State = state, CurrentValue = value, FiringGroups = state == "Firing" ? ["search"] : null };

    [Fact]
    public void AnUnchangedStateKeepsItsRecordAChangedOneIsReportedAndStored()
    {
        var book = new StatusBook(new StringPool());
        var first = Alert("a", "Ok", "1");
        Assert.Equal(["team-a/a", "team-a/b"], book.UpdateAlerts([first, Alert("b", "Ok", "1")]).Select(c => c.Key));

        var firing = Alert("b", "Firing", "2");
        var changed = book.UpdateAlerts([Alert("a", "Ok", "1"), firing]);

        Assert.Equal(["team-a/b"], changed.Select(c => c.Key));
        Assert.Same(first, book.Alert("team-a/a"));
        Assert.Same(firing, book.Alert("team-a/b"));
        // Same state, other groups: a change.
        Assert.Equal(["team-a/b"], book.UpdateAlerts([Alert("a", "Ok", "1"), new AggregatorAlert { Namespace = "team-a", Name = "b", State = "Firing", CurrentValue = "2", FiringGroups = ["other"] }]).Select(c => c.Key));
        // Unreported: forgotten.
        book.UpdateAlerts([Alert("b", "Ok", "3")]);
        Assert.Null(book.Alert("team-a/a"));
    }

    [Fact]
    public void StoredRecordsShareTheStringsTheyRepeat()
    {
        var book = new StatusBook(new StringPool());
        // Each record as read from JSON: strings equal in content, distinct in memory.
        AggregatorAlert Read(string name) => new()
        {
            Namespace = new string("team-a"), Name = name, State = new string("Firing"), CurrentValue = new string("42"),
            FiringGroups = [new string("search")],
        };
        book.UpdateAlerts([Read("a"), Read("b")]);

        var (a, b) = (book.Alert("team-a/a")!, book.Alert("team-a/b")!);
        Assert.Same(a.Namespace, b.Namespace);
        Assert.Same(a.State, b.State);
        Assert.Same(a.CurrentValue, b.CurrentValue);
        Assert.Same(a.FiringGroups![0], b.FiringGroups![0]);
    }
}
