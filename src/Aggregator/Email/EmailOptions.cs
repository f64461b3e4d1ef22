using MimeKit;

namespace AgentMeter.Aggregator.Email;

/// <summary>Section <c>Email</c>: the SMTP server notifications are mailed through. No <see cref="Host"/>: no mail is sent.</summary>
public sealed class EmailOptions
{
    public string? Host { get; set; }
    /// <summary>0: the port of <see cref="Security"/> (25, 587 or 465).</summary>
    public int Port { get; set; }
    /// <summary>Sender, <c>alerts@example.com</c> or <c>AgentMeter &lt;alerts@example.com&gt;</c>; its domain also names the Message-IDs.</summary>
    public string? From { get; set; }
    public EmailSecurity Security { get; set; } = EmailSecurity.StartTls;
    /// <summary>Files of a mounted Secret holding the SMTP user name and password, read at each delivery (a rotated Secret is picked up).</summary>
    public string? UserNameFile { get; set; }
    public string? PasswordFile { get; set; }
    /// <summary>The dashboard's address as recipients reach it, linked from every mail.</summary>
    public Uri? DashboardUrl { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Host);

    public int EffectivePort => Port > 0 ? Port : Security switch
    {
        EmailSecurity.None => 25,
        EmailSecurity.Tls => 465,
        _ => 587,
    };

    /// <summary>Only when <see cref="Enabled"/> (validated then).</summary>
    public MailboxAddress Sender => MailboxAddress.Parse(From ?? "");

    /// <summary>Refuses settings mail cannot be sent with, naming the setting.</summary>
    public void Validate()
    {
        string? problem = null;
        if (!Enum.IsDefined(Security)) problem = $"Email__Security must be one of {string.Join(", ", Enum.GetNames<EmailSecurity>())}";
        else if (Port is < 0 or > 65535) problem = $"Email__Port must be a TCP port (1 to 65535), got {Port}";
        else if (DashboardUrl is not null && (!DashboardUrl.IsAbsoluteUri || DashboardUrl.Scheme is not ("http" or "https")))
            problem = "Email__DashboardUrl must be an absolute http(s) URL";
        else if ((UserNameFile is null) != (PasswordFile is null))
            problem = "Email__UserNameFile and Email__PasswordFile go together: set both (SMTP authentication) or neither";
        else if (Enabled && (string.IsNullOrWhiteSpace(From) || !MailboxAddress.TryParse(From, out var from) || from.Address.Count(c => c == '@') != 1))
            problem = "Email__From must be the sender's address, such as alerts@example.com or \"AgentMeter <alerts@example.com>\"";
        if (problem is not null) throw new InvalidOperationException(problem);
    }
}
