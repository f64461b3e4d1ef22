using AgentMeter.Entities.Resources;
using AgentMeter.Operator.Configuration;
using AgentMeter.Operator.Health;
using AgentMeter.Operator.Kubernetes;
using AgentMeter.Operator.Machinery;
using AgentMeter.Operator.Reconcile;
using AgentMeter.Operator.Rendering;
using AgentMeter.Operator.Status;
using AgentMeter.Operator.Tenancy;
using k8s;
using k8s.Models;

namespace AgentMeter.Operator.Controller;

/// <summary>
/// One leadership term of the operator: informers of the four kinds and of namespaces (their tenant label) feed one
/// work queue of per-resource, per-namespace hand-off and workload keys; workers reconcile keys (never one key twice at once); a resync re-queues everything; a status sync
/// copies the aggregator's state. Every loop retries its failures and reports its cycles to <see cref="LoopHealth"/>.
/// </summary>
public sealed class OperatorController : ILeaderTerm
{
    private readonly OperatorOptions _options;
    private readonly OperatorMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly WorkQueue _queue;
    private readonly Informer<CostRate> _costRates;
    private readonly Informer<UsageAlert> _alerts;
    private readonly Informer<RetentionPolicy> _policies;
    private readonly Informer<Budget> _budgets;
    private readonly Informer<V1Namespace> _namespaces;
    private readonly LoopHealth _health;
    private readonly WorkloadReconciler _workload;
    private readonly HandOffReconciler _handOff;
    private readonly UsageAlertReconciler _alertReconciler;
    private readonly ResourceStatusReconciler _statusReconciler;
    private readonly BudgetReconciler _budgetReconciler;
    private readonly StatusSync _statusSync;

    public OperatorController(ApiClient client, HttpClient aggregatorHttp, OperatorOptions options, AggregatorOptions aggregator,
        MonitoringOptions monitoring, OperatorMetrics metrics, LoopHealth health, TimeProvider time, ILoggerFactory logs)
    {
        _options = options;
        _health = health;
        _metrics = metrics;
        _time = time;
        _logger = logs.CreateLogger<OperatorController>();
        _queue = new WorkQueue(time);
        var ns = options.ResolveNamespace();
        var api = new ObjectApi(client);
        var strings = new StringPool();
        _costRates = new Informer<CostRate>(client, ObjectKind.Resource(CostRate.KindName, CostRate.Plural), c => OnChange(c, Keys.CostRate, handOff: false), metrics, health, _logger) { WatchTimeoutSeconds = options.WatchTimeoutSeconds };
        _alerts = new Informer<UsageAlert>(client, ObjectKind.Resource(UsageAlert.KindName, UsageAlert.Plural), c => OnChange(c, Keys.UsageAlert, handOff: true), metrics, health, _logger)
            { WatchTimeoutSeconds = options.WatchTimeoutSeconds, Transform = a => CacheTransform.Compact(a, strings) };
        _policies = new Informer<RetentionPolicy>(client, ObjectKind.Resource(RetentionPolicy.KindName, RetentionPolicy.Plural), c => OnChange(c, Keys.RetentionPolicy, handOff: false), metrics, health, _logger) { WatchTimeoutSeconds = options.WatchTimeoutSeconds };
        _budgets = new Informer<Budget>(client, ObjectKind.Resource(Budget.KindName, Budget.Plural), c => OnChange(c, Keys.Budget, handOff: true), metrics, health, _logger)
            { WatchTimeoutSeconds = options.WatchTimeoutSeconds, Transform = b => CacheTransform.Compact(b, strings) };
        _namespaces = new Informer<V1Namespace>(client, ObjectKind.Namespace, OnNamespaceChange, metrics, health, _logger) { WatchTimeoutSeconds = options.WatchTimeoutSeconds };
        var tenantRule = new TenantRule(options.Tenancy, ns, name => _namespaces.Get(name)?.Metadata.Labels);
        var tenancy = new UsageAlertTenancy(tenantRule);
        var budgetTenancy = new BudgetTenancy(tenantRule);
        var rules = aggregator.Rules();
        var renderer = new Renderer(aggregator, monitoring, ns);
        var applier = new Applier(api, metrics);
        var statusWriter = new StatusWriter(api, metrics);
        var discovery = new DiscoveryCache(api, time, TimeSpan.FromSeconds(30));
        var book = new StatusBook(strings);
        _handOff = new HandOffReconciler(api, renderer, applier, _alerts, _budgets, tenancy, budgetTenancy, rules, logs.CreateLogger<HandOffReconciler>());
        _workload = new WorkloadReconciler(renderer, applier, discovery, _handOff, _costRates, _policies, rules, _queue.Add, logs.CreateLogger<WorkloadReconciler>());
        _alertReconciler = new UsageAlertReconciler(api, renderer, applier, statusWriter, discovery, _alerts, tenancy, rules, book, new AlertEvents(client, time, logs.CreateLogger<AlertEvents>()), time, logs.CreateLogger<UsageAlertReconciler>());
        _statusReconciler = new ResourceStatusReconciler(statusWriter, _costRates, _policies, book, time, logs.CreateLogger<ResourceStatusReconciler>());
        _budgetReconciler = new BudgetReconciler(api, statusWriter, _budgets, budgetTenancy, rules, book, time, logs.CreateLogger<BudgetReconciler>());
        _statusSync = new StatusSync(new AggregatorClient(aggregatorHttp, api, aggregator, ns), book, _alerts, _budgets, logs.CreateLogger<StatusSync>());
    }

    /// <summary>A controller for one leadership term, from the host's services (what <see cref="LeaderHost"/> starts).</summary>
    public static OperatorController Create(IServiceProvider services) => new(
        services.GetRequiredService<ApiClient>(), services.GetRequiredService<IHttpClientFactory>().CreateClient("aggregator"),
        services.GetRequiredService<OperatorOptions>(), services.GetRequiredService<AggregatorOptions>(),
        services.GetRequiredService<MonitoringOptions>(), services.GetRequiredService<OperatorMetrics>(),
        services.GetRequiredService<LoopHealth>(), services.GetRequiredService<TimeProvider>(), services.GetRequiredService<ILoggerFactory>());

    /// <summary>True once every informer has listed its kind.</summary>
    public bool HasSynced => _costRates.HasSynced && _alerts.HasSynced && _policies.HasSynced && _budgets.HasSynced && _namespaces.HasSynced;

    public async Task RunAsync(CancellationToken ct)
    {
        var informers = new[] { _costRates.RunAsync(ct), _alerts.RunAsync(ct), _policies.RunAsync(ct), _budgets.RunAsync(ct), _namespaces.RunAsync(ct) };
        try
        {
            while (!HasSynced) await Task.Delay(TimeSpan.FromMilliseconds(20), _time, ct);
            _logger.LogInformation("Caches synced: {CostRates} CostRates, {Alerts} UsageAlerts, {Policies} RetentionPolicies, {Budgets} Budgets",
                _costRates.Items.Count, _alerts.Items.Count, _policies.Items.Count, _budgets.Items.Count);
            EnqueueAll();
            var loops = Enumerable.Range(0, Math.Max(1, _options.Workers)).Select(_ => WorkAsync(ct))
                .Append(new PeriodicLoop("resync", _options.ResyncPeriod, _health, _time, _logger).RunAsync(EnqueueAll, ct))
                .Append(new PeriodicLoop("status-sync", _options.StatusSyncPeriod, _health, _time, _logger)
                    .RunAsync(c => _statusSync.SyncOnceAsync(_queue.Add, c), ct, runFirst: true));
            await Task.WhenAll(loops.Concat(informers));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        await Task.WhenAll(informers);
    }

    /// <summary>
    /// A resource changed: it is reconciled, and what the aggregator gets is rendered again — its namespace's hand-off
    /// for a namespaced kind (<paramref name="handOff"/>), the workload's ConfigMap for a cluster-scoped one.
    /// </summary>
    private void OnChange<T>(ObjectChange<T> change, Func<string, string> key, bool handOff) where T : class, IKubernetesObject<V1ObjectMeta>
    {
        var (old, now) = (change.Old, change.New);
        // Status-only updates (our own status writes among them) keep generation and labels: nothing to reconcile.
        if (old is not null && now is not null &&
            old.Metadata.Generation == now.Metadata.Generation &&
            old.Metadata.DeletionTimestamp == now.Metadata.DeletionTimestamp &&
            SameLabels(old.Metadata.Labels, now.Metadata.Labels))
            return;
        var item = now ?? old!;
        _queue.Add(key(Informer<T>.KeyOf(item)));
        _queue.Add(handOff ? Keys.HandOff(item.Metadata.NamespaceProperty ?? "") : Keys.Workload);
        _metrics.QueueDepth.Set(_queue.Depth);
    }

    /// <summary>A namespace's labels (its tenant) changed: every UsageAlert and Budget in it, and what the aggregator gets, is decided again.</summary>
    private void OnNamespaceChange(ObjectChange<V1Namespace> change)
    {
        if (change.Old is not null && change.New is not null && SameLabels(change.Old.Metadata.Labels, change.New.Metadata.Labels)) return;
        var ns = (change.New ?? change.Old)!.Metadata.Name;
        foreach (var alert in _alerts.Items.Where(a => a.Metadata.NamespaceProperty == ns))
            _queue.Add(Keys.UsageAlert(Informer<UsageAlert>.KeyOf(alert)));
        foreach (var budget in _budgets.Items.Where(b => b.Metadata.NamespaceProperty == ns))
            _queue.Add(Keys.Budget(Informer<Budget>.KeyOf(budget)));
        _queue.Add(Keys.HandOff(ns));
        _metrics.QueueDepth.Set(_queue.Depth);
    }

    private static bool SameLabels(IDictionary<string, string>? a, IDictionary<string, string>? b) =>
        (a?.Count ?? 0) == (b?.Count ?? 0) && (a is null || a.All(kv => b!.TryGetValue(kv.Key, out var v) && v == kv.Value));

    private void EnqueueAll()
    {
        foreach (var rate in _costRates.Items) _queue.Add(Keys.CostRate(Informer<CostRate>.KeyOf(rate)));
        foreach (var alert in _alerts.Items) _queue.Add(Keys.UsageAlert(Informer<UsageAlert>.KeyOf(alert)));
        foreach (var policy in _policies.Items) _queue.Add(Keys.RetentionPolicy(Informer<RetentionPolicy>.KeyOf(policy)));
        foreach (var budget in _budgets.Items) _queue.Add(Keys.Budget(Informer<Budget>.KeyOf(budget)));
        foreach (var ns in _alerts.Items.Select(a => a.Metadata.NamespaceProperty).Concat(_budgets.Items.Select(b => b.Metadata.NamespaceProperty)).OfType<string>().Distinct())
            _queue.Add(Keys.HandOff(ns));
        _queue.Add(Keys.Workload);
        _metrics.QueueDepth.Set(_queue.Depth);
    }

    private Task EnqueueAll(CancellationToken _)
    {
        EnqueueAll();
        return Task.CompletedTask;
    }

    private async Task WorkAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var key = await _queue.TakeAsync(ct);
            _metrics.QueueDepth.Set(_queue.Depth);
            var (kind, objectKey) = Keys.Split(key);
            var started = _time.GetTimestamp();
            try
            {
                await (kind switch
                {
                    Keys.Workload => _workload.ReconcileAsync(ct),
                    Keys.HandOffKind => _handOff.ReconcileAsync(objectKey, ct),
                    UsageAlert.KindName => _alertReconciler.ReconcileAsync(objectKey, ct),
                    CostRate.KindName => _statusReconciler.ReconcileCostRateAsync(objectKey, ct),
                    Budget.KindName => _budgetReconciler.ReconcileAsync(objectKey, ct),
                    _ => _statusReconciler.ReconcileRetentionPolicyAsync(objectKey, ct),
                });
                _queue.Forget(key);
                _metrics.Reconciles.WithLabels(kind, "success").Inc();
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                var delay = _queue.AddRateLimited(key, ct, ApiErrors.RetryAfter(e));
                _metrics.Reconciles.WithLabels(kind, "error").Inc();
                _metrics.ReconcileErrors.WithLabels(kind).Inc();
                _logger.LogWarning("Reconcile of {Key} failed, retrying in {Delay:N0} ms: {Error}", key, delay.TotalMilliseconds, ApiErrors.Describe(e));
            }
            finally
            {
                _metrics.ReconcileDuration.WithLabels(kind).Observe(_time.GetElapsedTime(started).TotalSeconds);
                _queue.Done(key);
                _metrics.QueueDepth.Set(_queue.Depth);
            }
        }
    }
}
