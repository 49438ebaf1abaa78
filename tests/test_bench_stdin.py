"""bench --ignore-stdin: a `while read` loop's stdin is its list, not bench's prompts."""

from __future__ import annotations

import subprocess

from conftest import clean_env


def loop_over(urls_file: str, flag: str, env: dict[str, str]) -> list[str]:
    """One bench a line of the file, the way a shell script loops over servers; the lines it got to."""
    loop = f'while read -r url; do streamchat bench {flag} -q --requests 1 --url "$url" > /dev/null || exit 1; echo "benched: $url"; done'
    done = subprocess.run(["bash", "-c", loop], stdin=open(urls_file, "rb"), capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_bench_in_a_while_read_loop_leaves_the_list_alone(server, tmp_path):
    url = server.url + "/api/chat/stream"
    urls = tmp_path / "urls.txt"
    urls.write_text(f"{url}\n{url}?second\n")
    every_line = [f"benched: {url}", f"benched: {url}?second"]
    assert loop_over(str(urls), "--ignore-stdin", clean_env()) == every_line
    assert loop_over(str(urls), "", clean_env(STREAMCHAT_IGNORE_STDIN="1")) == every_line
    assert loop_over(str(urls), "--prompt-tokens 8", clean_env()) == every_line  # synthetic prompts: stdin has nothing to give
    # Without it, the first bench takes the rest of the list as its prompts: the loop ends after one line.
    assert loop_over(str(urls), "", clean_env()) == every_line[:1]
