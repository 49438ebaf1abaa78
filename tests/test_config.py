"""Config profiles: precedence flags > env > profile > [defaults] > built-in; token_command; clear errors."""

from __future__ import annotations

import json

from conftest import clean_env, run_cli, seen_by


def write_config(tmp_path, text: str) -> dict[str, str]:
    (tmp_path / "streamchat").mkdir(exist_ok=True)
    (tmp_path / "streamchat" / "config.toml").write_text(text)
    return clean_env(XDG_CONFIG_HOME=str(tmp_path), STREAMCHAT_MODEL="")  # the model comes from the file here


def test_precedence_flags_env_profile_defaults(server, tmp_path):
    env = write_config(
        tmp_path,
        f"""
[defaults]
model = "from/defaults"
read_timeout = 30

[profiles.local]
url = "{server.url}/api/chat/stream"
model = "from/profile"
headers = {{ "X-Test-Id" = "cfg-1", "X-Team" = "search" }}
""",
    )
    r = run_cli("chat", "--profile", "local", "-o", "json", "Hi", env=env)
    assert r.code == 0, r.stderr
    seen = seen_by(server, "cfg-1")
    assert json.loads(seen[-1].body)["model_id"] == "from/profile" and seen[-1].headers["x-team"] == "search"
    r = run_cli("chat", "-o", "json", "Hi", env={**env, "STREAMCHAT_PROFILE": "local", "STREAMCHAT_MODEL": "from/env"})
    assert r.code == 0 and json.loads(seen_by(server, "cfg-1")[-1].body)["model_id"] == "from/env"
    r = run_cli("chat", "--profile", "local", "-m", "from/flag", "-H", "X-Team: flag", "Hi", env={**env, "STREAMCHAT_MODEL": "from/env"})
    last = seen_by(server, "cfg-1")[-1]
    assert r.code == 0 and json.loads(last.body)["model_id"] == "from/flag" and last.headers["x-team"] == "flag"
    # Without a profile, [defaults] still applies (and there is no URL: the built-in demo server answers).
    r = run_cli("config", "-o", "json", env=env)
    shown = json.loads(r.out)["settings"]
    assert shown["model"] == {"value": "from/defaults", "source": f"{tmp_path}/streamchat/config.toml [defaults]"}
    assert shown["url"]["value"] is None


def test_token_command_supplies_the_token_and_never_shows_it(auth_server, tmp_path):
    secret = "s3cret-token-value"
    (tmp_path / "vault").write_text(secret + "\n")  # what `pass show` would print
    env = write_config(
        tmp_path,
        f"""
default_profile = "prod"
[profiles.prod]
url = "{auth_server.url}/v1/chat/completions"
token_command = "cat {tmp_path}/vault"
""",
    )
    r = run_cli("chat", "-o", "json", "Hi", env=env)
    assert r.code == 0, r.stderr
    assert json.loads(r.out)["done"] is True and secret not in r.out + r.stderr
    r = run_cli("config", env=env)
    assert r.code == 0 and "prod" in r.out and "<redacted>" in r.out and secret not in r.out + r.stderr
    assert "(default_profile)" in r.out
    r = run_cli("config", env={**env, "STREAMCHAT_TOKEN": "env-secret-xyz"})
    assert "env-secret-xyz" not in r.out + r.stderr and "environment STREAMCHAT_TOKEN" in r.out
    r = run_cli("bench", "--requests", "2", "-o", "json", "-q", env=env)  # bench resolves the token the same way
    assert r.code == 0 and json.loads(r.out)["ok"] == 2, r.stderr
    failing = write_config(tmp_path, f'[profiles.p]\nurl = "{auth_server.url}/v1/chat/completions"\ntoken_command = "exit 3"\n')
    r = run_cli("chat", "--profile", "p", "Hi", env=failing)
    assert r.code == 2 and "token_command" in r.stderr and "status 3" in r.stderr


def test_bad_config_files_name_the_line(tmp_path):
    cases = [
        ('[profiles.x]\nurl = "unterminated\n', ":2:"),
        ("[profiles.x]\n\nurl = 3\n", ":3: url must be a string"),
        ('[defaults]\nmodel = "m"\ncolour = "red"\n', ":3: unknown setting 'colour'"),
        ('[profiles.x]\ndialect = "soap"\n', ":2: dialect must be one of"),
        ('default_profile = "missing"\n', ":1: default_profile names no"),
        ("[profiles.x]\nread_timeout = -1\n", ":2: read_timeout must be a finite number more than 0"),
        ("[profiles.x]\nread_timeout = nan\n", ":2: read_timeout must be a finite number more than 0"),  # TOML has nan and inf
        ("[defaults]\nconnect_timeout = inf\n", ":2: connect_timeout must be a finite number more than 0"),
    ]
    for text, expected in cases:
        env = write_config(tmp_path, text)
        r = run_cli("chat", "Hi", env=env)
        assert r.code == 2 and expected in r.stderr and len(r.stderr.strip().splitlines()) == 1, (text, r.stderr)
        assert "Traceback" not in r.stderr
    env = write_config(tmp_path, "[profiles.a]\n")
    r = run_cli("chat", "--profile", "b", "Hi", env=env)
    assert r.code == 2 and "no profile 'b'" in r.stderr and "profiles: a" in r.stderr
    assert run_cli("chat", "--help", env=write_config(tmp_path, "[[[")).code == 0  # help never reads the file


def test_a_profile_can_say_ignore_stdin_true(server, tmp_path):
    env = write_config(tmp_path, f'[profiles.loop]\nurl = "{server.url}/api/chat/stream"\nignore_stdin = true\n')
    r = run_cli("chat", "--profile", "loop", "-q", "-H", "X-Test-Id: cfg-stdin", "first", input=b"the next question\n", env=env)
    assert r.code == 0, r.stderr
    assert json.loads(seen_by(server, "cfg-stdin")[-1].body)["message"] == "first"  # stdin left for the `while read` loop
    r = run_cli("chat", "--profile", "loop", "Hi", env=write_config(tmp_path, "[profiles.loop]\nread_timeout = true\n"))
    assert r.code == 2 and ":2: read_timeout must be a number of seconds" in r.stderr  # a boolean is still not a number


def test_config_shows_params_and_ignore_stdin_too(tmp_path):
    env = write_config(tmp_path, "[profiles.p]\nparams = { seed = 7 }\nignore_stdin = true\n")
    r = run_cli("config", "--profile", "p", "-o", "json", env=env)
    shown = json.loads(r.out)["settings"]
    assert shown["params"] == {"value": {"seed": 7}, "source": f"{tmp_path}/streamchat/config.toml [profiles.p]"}
    assert shown["ignore_stdin"]["value"] is True
    r = run_cli("config", "--profile", "p", env={**env, "STREAMCHAT_IGNORE_STDIN": "0"})
    assert r.code == 0 and "ignore_stdin     0  (environment STREAMCHAT_IGNORE_STDIN)" in r.out and "seed: 7" in r.out
