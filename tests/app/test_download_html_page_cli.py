"""A download answered with an HTML page (a login page) says where a key goes in words that work from
both the window and the command line: Settings › Sites, or the token's environment variable (the message
named a "Settings → Accounts" page that does not exist, and nothing a command-line user could do).

``main.py download`` runs in a child process against the loopback Civitai and file host; the scan before it,
which only makes the folder a library folder, runs through the same entry point in this process
(:mod:`tests.app.in_process`), without a second process start."""

from __future__ import annotations

from tests.app.download_sites import FILE_PATH, VERSION_ID, Sites
from tests.app.in_process import run_in_process
from tests.app.main_process import run_main
from tests.fakes.file_server import Fault


def test_an_html_page_instead_of_the_file_names_the_sites_page_and_the_token_variables(sites: Sites) -> None:
    run_in_process("scan", "--no-hash", "--no-lookup", str(sites.root), env=sites.env, check=True)
    sites.file_state.faults[FILE_PATH] = Fault(html=True)

    result = run_main("download", f"civitai:{VERSION_ID}", env=sites.env)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "sent an HTML page (a login page?) instead of the file" in last
    assert last.endswith(
        "The file may need an API key (Settings › Sites, or ATELIER_CIVITAI_TOKEN / HF_TOKEN) or the link "
        "may have expired."
    )
    assert not list(sites.root.rglob("pixel_art.safetensors"))
