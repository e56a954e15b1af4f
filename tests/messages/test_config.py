"""messages.toml: secrets from files or the environment only, every error
naming the key."""

from __future__ import annotations

import pytest

from registry.messages.config import ConfigError, load, parse


def write(tmp_path, text):
    path = tmp_path / "messages.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_full_config(tmp_path, monkeypatch):
    (tmp_path / "smtp.password").write_text("pw-from-file\n")
    monkeypatch.setenv("HOOK_SECRET", "a-secret-of-enough-length")
    config = load(write(tmp_path, """
templates_dir = "templates"
[office]
name = "Bürgerbüro"
phone = "0123"
[queue]
path = "q.sqlite3"
batch_size = 5
[email]
host = "mail.example.org"
sender = "box@example.org"
username = "box"
password_file = "smtp.password"
[sms]
url = "https://gw.example/sms"
headers = { Authorization = "Bearer {secret}" }
secret_env = "HOOK_SECRET"
[[webhooks]]
name = "register"
url = "https://register.example/hook"
events = ["collected"]
secret_env = "HOOK_SECRET"
"""))
    assert config.email.password == "pw-from-file" and config.email.port == 587
    assert "pw-from-file" not in repr(config)  # nor in logs of the config
    assert config.sms.secret == "a-secret-of-enough-length"
    assert config.webhooks[0].events == frozenset({"collected"})
    assert config.queue_path == tmp_path / "q.sqlite3" and config.batch_size == 5
    assert config.templates_dir == tmp_path / "templates"


@pytest.mark.parametrize("text, reason", [
    ('[email]\nhost = "m.example"\nsender = "a@b.de"\npassword = "x"\n', "do not write secrets"),
    ('[email]\nhost = "m.example"\nsender = "a@b.de"\nsecurity = "none"\n', "loopback relay"),
    ('[email]\nhost = "m.example"\nsender = "a@b.de"\nsecurity = "ssl"\n', "must be one of"),
    ('[email]\nsender = "a@b.de"\n', "needs host and sender"),
    ('[email]\nhost = "m.example"\nsender = "a@b.de"\npassword_env = "NOPE_NOT_SET"\n',
     "is not set"),
    ('[sms]\nmethod = "POST"\n', "needs url"),
    ('[[webhooks]]\nname = "x"\nurl = "https://x.example"\nevents = ["paid"]\n'
     'secret_env = "HOME"\n', "unknown events"),
    ('[[webhooks]]\nname = "x"\nurl = "https://x.example"\n', "at least 16"),
    ('[office]\ntimezone = "Mars/Olympus"\n', "not a known time zone"),
    ('[office]\nemail = "x"\n', "unexpected keyword"),
    ('[office\n', "messages.toml"),
])
def test_bad_config_names_the_problem(tmp_path, monkeypatch, text, reason):
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    with pytest.raises(ConfigError, match=reason):
        load(write(tmp_path, text))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "nope.toml")
    assert parse({}, tmp_path).email is None
