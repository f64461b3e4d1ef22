using Npgsql;

namespace AgentMeter.Aggregator.Import;

/// <summary>Where the audit rows are read from: the aggregator's database unless Import__ConnectionString names another.</summary>
public sealed record ImportSourceDatabase(NpgsqlDataSource DataSource);
