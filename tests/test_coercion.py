"""cli/coercion.py: the quick checks accept exactly what Typer's own (pydantic) checks accept, with the same result."""

from __future__ import annotations

import pytest
from typer._click import Context
from typer._coercion import build_runtime_param
from typer.main import get_command

from streamchat.cli import app
from streamchat.cli.coercion import _SLOW, QuickParam, install

SAMPLES = [
    "", "0", "1", "-1", "-0", "007", "+5", " 5", "5 ", "1_0", "0x10", "1e3", "1.", ".5", "1.5", "0.001", "2", "2.0", "2.5",
    "3", "-2.0", "-3", "nan", "inf", "99999999999999999999", "１", "abc", "text", "ndjson", "json", "TEXT", "openai", "auto",
    "original", "sse", "bearer", "x-api-key", "none", "/tmp/x",
]  # fmt: skip


def commands():
    root = get_command(app)
    install(root)
    for name, command in root.commands.items():
        for sub in getattr(command, "commands", {}).values():
            yield f"{name} {sub.name}", sub
        yield name, command


PARAMS = [(f"{name} {param.name}", command, param) for name, command in commands() for param in command.params]


def test_every_option_of_every_command_has_a_quick_check():
    assert [label for label, _, param in PARAMS if not isinstance(param._runtime_param, QuickParam)] == []


@pytest.mark.parametrize("label, command, param", PARAMS, ids=[label for label, _, _ in PARAMS])
def test_quick_check_agrees_with_typer(label, command, param):
    ctx = Context(command)
    typer_check = build_runtime_param(param.type_descriptor)
    values = [param.default] if param.default is not None else []
    values += [(sample,) if param.multiple else sample for sample in SAMPLES]
    for value in values:
        quick = param._runtime_param.check(value)
        if quick is _SLOW:
            continue  # Typer decides, and words the error
        assert typer_check._coerce_value(value, param=param, ctx=ctx) == quick, value
        assert type(typer_check._coerce_value(value, param=param, ctx=ctx)) is type(quick), value


def test_invalid_values_still_get_typers_words(cli):
    r = cli("chat", "--retries", "-1", "Hi")
    assert r.code == 2 and "Invalid value for '--retries': Input should be greater than or equal to 0" in r.stderr
    r = cli("chat", "-o", "yaml", "Hi")
    assert r.code == 2 and "'yaml' is not one of 'text', 'ndjson', 'json'" in r.stderr


def test_a_typer_with_other_internals_only_loses_the_shortcut(monkeypatch):
    """If RuntimeParam changes shape in a Typer release, commands still run, checked by Typer alone."""
    import streamchat.cli.coercion as coercion
    from streamchat.cli import run

    class Reshaped:  # a RuntimeParam that wants other arguments
        def __init__(self, *, something_new):
            pass

    monkeypatch.setattr(coercion, "QuickParam", Reshaped)
    root = get_command(app)
    install(root)
    assert all(param._runtime_param is None for param in root.commands["chat"].params)
    assert run(["chat", "--retries", "-1", "Hi"]) == 2
