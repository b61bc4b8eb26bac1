"""E-mail over SMTP; the message's key is its Message-ID, by which mail systems drop a
repeat."""

import smtplib
from email.message import EmailMessage

from regulars.campaigns.channels import Outgoing, SendFailed


class Smtp:
    def __init__(self, host: str, port: int, sender: str, timeout: float = 10.0) -> None:
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, message: Outgoing) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, message.to, message.subject
        mail["Message-ID"] = f"<{message.key}@regulars>"
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as server:
                server.send_message(mail)
        except (OSError, smtplib.SMTPException) as failed:
            raise SendFailed(f"the mail server refused: {failed}") from None
