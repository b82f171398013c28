# ruff: noqa: E501  (real messages have long lines)
"""Realistic bounce messages as the common MTAs write them, addressed to a given VERP sender.

Shapes follow real samples: Postfix's RFC 3464 reports (with ``text/rfc822-headers``), Exim's
classic plain-text bounce (``X-Failed-Recipients``, the message copied inline), Exchange Online
NDRs (5.1.10, ``RESOLVER.ADR.RecipientNotFound``), Gmail's "Delivery Status Notification
(Failure)", qmail's "Hi. This is the qmail-send program", ARF feedback reports (RFC 5965) and
out-of-office replies. Each function returns bytes.
"""

from __future__ import annotations

ORIGINAL = """\
From: Press Office <press@example.org>
To: {rcpt}
Subject: =?utf-8?b?0JrQvtC90YTQtdGA0LXQvdGG0LjRjyDQsiDQlNGD0YjQsNC90LHQtQ==?=
Date: Thu, 14 May 2026 09:00:00 +0000
Message-ID: {message_id}
List-Unsubscribe: <https://press.example.org/u/abc>
Content-Type: text/plain; charset=utf-8
"""


def postfix_dsn(verp: str, rcpt: str, message_id: str, status: str = "5.1.1",
                diagnostic: str = "550 5.1.1 <{rcpt}>: Recipient address rejected: "
                                  "User unknown in virtual mailbox table",
                action: str = "failed") -> bytes:
    """Postfix: multipart/report with a human part, delivery-status and the original headers."""
    diag = diagnostic.format(rcpt=rcpt)
    return f"""\
Return-Path: <>
Delivered-To: {verp}
Received: by mx.example.org (Postfix) id 4F1C21E0A; Thu, 14 May 2026 09:00:03 +0000 (UTC)
Date: Thu, 14 May 2026 09:00:03 +0000 (UTC)
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {verp}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4F1C21E0A.1778749203/mx.example.org"
Message-Id: <20260514090003.4F1C21E0A@mx.example.org>

This is a MIME-encapsulated message.

--4F1C21E0A.1778749203/mx.example.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

<{rcpt}>: host mail.example.kz[203.0.113.7] said: {diag} (in reply to
    RCPT TO command)

--4F1C21E0A.1778749203/mx.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
X-Postfix-Queue-ID: 4F1C21E0A
X-Postfix-Sender: rfc822; {verp}
Arrival-Date: Thu, 14 May 2026 09:00:01 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: {action}
Status: {status}
Remote-MTA: dns; mail.example.kz
Diagnostic-Code: smtp; {diag}

--4F1C21E0A.1778749203/mx.example.org
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

{ORIGINAL.format(rcpt=rcpt, message_id=message_id)}
--4F1C21E0A.1778749203/mx.example.org--
""".encode()


def exim_classic(verp: str, rcpt: str, message_id: str) -> bytes:
    """Exim 4's plain-text bounce, the original copied inline after a marker line."""
    return f"""\
Return-path: <>
Envelope-to: {verp}
Delivery-date: Thu, 14 May 2026 09:01:12 +0000
From: Mail Delivery System <Mailer-Daemon@relay.example.net>
To: {verp}
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1vXyZ-0003Ab-7Q@relay.example.net>
X-Failed-Recipients: {rcpt}
Auto-Submitted: auto-replied
Date: Thu, 14 May 2026 09:01:12 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {rcpt}
    host mx.example.ru [198.51.100.25]
    SMTP error from remote mail server after RCPT TO:<{rcpt}>:
    550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

{ORIGINAL.format(rcpt=rcpt, message_id=message_id)}
Уважаемая Анна, ...
""".encode()


def office365_ndr(verp: str, rcpt: str, message_id: str) -> bytes:
    """Exchange Online: "Undeliverable:", a delivery-status part and the original headers."""
    return f"""\
Received: from AM0PR01MB1234.eurprd01.prod.outlook.com; Thu, 14 May 2026 09:02:10 +0000
From: postmaster@outlook.com
To: {verp}
Date: Thu, 14 May 2026 09:02:10 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="_000_0c2f_"
Content-Language: en-US
Message-ID: <0c2f1a7e-1111-2222-3333-444455556666@AM0PR01MB1234.eurprd01.prod.outlook.com>
In-Reply-To: {message_id}
References: {message_id}
Subject: Undeliverable: Conference in Dushanbe
Auto-Submitted: auto-replied
MIME-Version: 1.0

--_000_0c2f_
Content-Type: multipart/alternative; boundary="_002_0c2f_"

--_002_0c2f_
Content-Type: text/plain; charset="us-ascii"

Your message to {rcpt} couldn't be delivered.
{rcpt.split("@")[0]} wasn't found at {rcpt.split("@")[1]}.

Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup'

--_002_0c2f_--

--_000_0c2f_
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.outlook.com
Received-From-MTA: dns;relay.example.org
Arrival-Date: Thu, 14 May 2026 09:02:09 +0000

Final-Recipient: rfc822;{rcpt}
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found
 by SMTP address lookup
X-Display-Name: {rcpt}

--_000_0c2f_
Content-Type: message/rfc822

{ORIGINAL.format(rcpt=rcpt, message_id=message_id)}
Dear Anna, ...

--_000_0c2f_--
""".encode()


def gmail_dsn(verp: str, rcpt: str, message_id: str) -> bytes:
    """Gmail's "Delivery Status Notification (Failure)" (the VERP only in To)."""
    return f"""\
Delivered-To: {verp}
Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {verp}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
References: {message_id}
In-Reply-To: {message_id}
Message-ID: <6655aa01.a70a0220.1b2c.0000.GMR@mx.google.com>
Date: Thu, 14 May 2026 02:03:04 -0700 (PDT)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="0000000000004e3c6f0617f0d2a1"; report-type=delivery-status

--0000000000004e3c6f0617f0d2a1
Content-Type: text/plain; charset="UTF-8"

** Address not found **

Your message wasn't delivered to {rcpt} because the address couldn't be found, or is unable to receive mail.

The response from the remote server was:
550 5.1.1 The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser

--0000000000004e3c6f0617f0d2a1
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; relay.example.org
Arrival-Date: Thu, 14 May 2026 02:03:03 -0700 (PDT)

Final-Recipient: rfc822; {rcpt}
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2a00:1450:4013:c03::1b, the server
 for the domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does
 not exist. Please try double-checking the recipient's email address for typos or
 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser
Last-Attempt-Date: Thu, 14 May 2026 02:03:04 -0700 (PDT)

--0000000000004e3c6f0617f0d2a1
Content-Type: message/rfc822

{ORIGINAL.format(rcpt=rcpt, message_id=message_id)}
Dear Anna, ...

--0000000000004e3c6f0617f0d2a1--
""".encode()


def qmail_bounce(verp: str, rcpt: str, message_id: str) -> bytes:
    """qmail's "failure notice", which is no RFC 3464 report."""
    return f"""\
Return-Path: <>
To: {verp}
From: MAILER-DAEMON@mail.example.tj
Subject: failure notice
Date: 14 May 2026 09:04:00 -0000
Message-ID: <20260514090400.1234.qmail@mail.example.tj>

Hi. This is the qmail-send program at mail.example.tj.
I'm afraid I wasn't able to deliver your message to the following addresses.
This is a permanent error; I've given up. Sorry it didn't work out.

<{rcpt}>:
Sorry, no mailbox here by that name. (#5.1.1)

--- Below this line is a copy of the message.

{ORIGINAL.format(rcpt=rcpt, message_id=message_id)}
""".encode()


def arf_complaint(verp: str, rcpt: str, message_id: str) -> bytes:
    """An RFC 5965 abuse report from a mailbox provider's feedback loop."""
    return f"""\
From: <feedbackloop@comcast.example>
To: <fbl@example.org>
Subject: FW: Conference in Dushanbe
Date: Thu, 14 May 2026 10:00:00 +0000
Message-ID: <fbl.1234@comcast.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"
Content-Transfer-Encoding: 7bit

This is an email abuse report for an email message received from IP
192.0.2.1 on Thu, 14 May 2026 09:00:00 +0000.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: abuse
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{verp}>
Original-Rcpt-To: <{rcpt}>
Arrival-Date: Thu, 14 May 2026 09:00:00 +0000
Reported-Domain: example.org
Source-IP: 192.0.2.1

--part1_13d.2e68ed54_boundary
Content-Type: text/rfc822-headers

Return-Path: <{verp}>
{ORIGINAL.format(rcpt=rcpt, message_id=message_id)}
--part1_13d.2e68ed54_boundary--
""".encode()


def out_of_office(to: str, sender: str, message_id: str, russian: bool = False) -> bytes:
    """An Exchange "Automatic reply", or a Russian one with only its subject to go by."""
    if russian:
        return f"""\
From: Анна <{sender}>
To: {to}
Subject: =?utf-8?b?0JDQstGC0L7QvNCw0YLQuNGH0LXRgdC60LjQuSDQvtGC0LLQtdGCOiDQmtC+0L3RhNC10YDQtdC90YbQuNGP?=
In-Reply-To: {message_id}
Date: Thu, 14 May 2026 09:05:00 +0300
Message-ID: <ooo-ru@example.ru>
Content-Type: text/plain; charset=utf-8

Я в отпуске до 1 июня.
""".encode()
    return f"""\
From: Anna Ivanova <{sender}>
To: {to}
Subject: Automatic reply: Conference in Dushanbe
Thread-Topic: Conference in Dushanbe
In-Reply-To: {message_id}
Date: Thu, 14 May 2026 09:05:00 +0000
Message-ID: <ooo@example.kz>
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
Content-Type: text/plain; charset="us-ascii"

I am out of the office until 1 June with limited access to email.
""".encode()


def mailto_unsubscribe(token: str, sender: str, domain: str = "example.org") -> bytes:
    """What a mail client sends to the List-Unsubscribe mailto address."""
    return f"""\
From: {sender}
To: unsubscribe@{domain}
Subject: unsubscribe {token}
Date: Thu, 14 May 2026 09:06:00 +0000
Message-ID: <unsub-1@example.kz>
Content-Type: text/plain; charset=utf-8

""".encode()
