"""What a browser makes of a download's ``Content-Disposition``, for the tests of file names."""

from __future__ import annotations

from email.message import Message
from email.utils import collapse_rfc2231_value


def browser_saves(header: str) -> str:
    """The name a browser saves the download as: ``filename*`` (RFC 5987) when given, else
    ``filename`` (RFC 6266 4.3); parsed with the standard library's RFC 2231 code, not ours."""
    message = Message()
    message["Content-Disposition"] = header
    assert message.get_content_disposition() == "attachment"
    names = [v for k, v in message.get_params(header="content-disposition") or () if k == "filename"]
    extended = [v for v in names if isinstance(v, tuple)]
    return collapse_rfc2231_value(extended[0] if extended else names[0])
