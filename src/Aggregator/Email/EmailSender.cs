using System.Net.Sockets;
using System.Text.Json;
using AgentMeter.Aggregator.Budgets;
using AgentMeter.Aggregator.Resources;
using AgentMeter.Aggregator.Webhooks;
using AgentMeter.Entities.Resources;
using AgentMeter.Entities.Validation;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace AgentMeter.Aggregator.Email;

/// <summary>
/// The mail channel of the outbox: one attempt sends the notification's one mail to the <c>spec.email</c> recipients of
/// its UsageAlert or Budget as currently defined. The Message-ID is derived from the row's idempotency key, so a mail
/// sent again after an unknown outcome (the connection lost after the data was sent) is recognisable as the same one.
/// SMTP 4xx and connection failures are retried by the dispatcher; 5xx answers dead-letter at once.
/// </summary>
public sealed class EmailSender(ResourceStore store, EmailOptions options, TimeProvider time) : INotificationChannel
{
    public string Name => INotificationChannel.Email;

    public async Task<DeliveryResult> SendAsync(OutboxItem item, CancellationToken ct)
    {
        if (!options.Enabled)
            return DeliveryResult.Permanent("mail is not configured in this aggregator: set Email__Host and Email__From");
        var recipients = Recipients(item);
        if (recipients is null)
            return DeliveryResult.Permanent($"the {item.ResourceKind} or its spec.email is no longer defined");
        var invalid = recipients.To.Concat(recipients.Cc ?? []).FirstOrDefault(a => !EmailAddresses.IsValid(a));
        if (invalid is not null || recipients.To.Count == 0)
            return DeliveryResult.Permanent($"spec.email lists \"{invalid}\", which is not a plain mail address");

        var content = item.ResourceKind == Budget.KindName
            ? EmailContent.ForBudget(JsonSerializer.Deserialize<BudgetNotification>(item.Payload, BudgetNotification.Json)!)
            : EmailContent.ForAlert(item.Notification);
        var from = options.Sender;
        var message = content.ToMessage(from, recipients.To.Select(MailboxAddress.Parse), (recipients.Cc ?? []).Select(MailboxAddress.Parse),
            $"{item.IdempotencyKey}@{from.Domain}", item.EventType, options.DashboardUrl, time.GetUtcNow());

        if (!TryReadCredentials(out var credentials, out var problem)) return DeliveryResult.Transient(problem);
        using var client = new SmtpClient();
        try
        {
            await client.ConnectAsync(options.Host!, options.EffectivePort, options.Security switch
            {
                EmailSecurity.None => SecureSocketOptions.None,
                EmailSecurity.Tls => SecureSocketOptions.SslOnConnect,
                _ => SecureSocketOptions.StartTls,
            }, ct);
            if (credentials is { } c) await client.AuthenticateAsync(c.UserName, c.Password, ct);
            await client.SendAsync(message, ct);
            await client.DisconnectAsync(quit: true, CancellationToken.None);
            return DeliveryResult.Success with { HttpStatus = null };
        }
        catch (SmtpCommandException e)
        {
            // RFC 5321: 4yz is "try again later", 5yz is final.
            var code = (int)e.StatusCode;
            var error = $"SMTP {code} ({e.ErrorCode}): {OneLine(e.Message)}";
            return code is >= 400 and < 500 ? DeliveryResult.Transient(error, code) : DeliveryResult.Permanent(error, code);
        }
        catch (AuthenticationException e)
        {
            return DeliveryResult.Permanent($"the SMTP server refused the credentials of Email__UserNameFile/Email__PasswordFile: {OneLine(e.Message)}");
        }
        catch (Exception e) when (e is SmtpProtocolException or IOException or SocketException or SslHandshakeException or ServiceNotConnectedException)
        {
            return DeliveryResult.Transient($"{e.GetType().Name} talking to {options.Host}:{options.EffectivePort}: {OneLine(e.Message)}");
        }
    }

    private EmailRecipients? Recipients(OutboxItem item) => item.ResourceKind switch
    {
        Budget.KindName => store.Current.Budgets.FirstOrDefault(b => Is(b.Metadata, item))?.Spec.Email,
        UsageAlert.KindName => store.Current.UsageAlerts.FirstOrDefault(a => Is(a.Metadata, item))?.Spec.Email,
        _ => null,
    };

    private static bool Is(k8s.Models.V1ObjectMeta meta, OutboxItem item) => ResourceNamespace.Of(meta) == item.Namespace && meta.Name == item.AlertName;

    /// <summary>Read at each attempt, so a rotated Secret is used without a restart. Problems name the file, never its content.</summary>
    private bool TryReadCredentials(out (string UserName, string Password)? credentials, out string problem)
    {
        credentials = null;
        problem = "";
        if (options.UserNameFile is null || options.PasswordFile is null) return true;
        try
        {
            credentials = (File.ReadAllText(options.UserNameFile).Trim(), File.ReadAllText(options.PasswordFile).TrimEnd('\r', '\n'));
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"the SMTP credentials are not readable (Email__UserNameFile {options.UserNameFile}, Email__PasswordFile {options.PasswordFile}): {e.GetType().Name}";
            return false;
        }
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
