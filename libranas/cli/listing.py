"""``libranas list``: bundled benchmarks, registered proxies or search spaces."""

from __future__ import annotations

import argparse
from typing import Any

from libranas.cli._common import EXIT_OK, EXIT_STATUS, require


def add_parser(sub: Any) -> argparse.ArgumentParser:
    ls = sub.add_parser(
        "list", help="list bundled benchmarks, proxies or search spaces", epilog=EXIT_STATUS
    )
    ls.add_argument("what", choices=["benchmarks", "proxies", "spaces"])
    ls.set_defaults(func=run)
    return ls


def run(args: argparse.Namespace) -> int:
    if args.what == "benchmarks":
        from libranas.datasets import describe_benchmark, list_benchmarks

        for name in list_benchmarks():
            print(f"{name}\t{describe_benchmark(name)['target']}")
    elif args.what == "proxies":
        # the proxies are registered by the modules that compute them (torch)
        require("torch", "libranas list proxies")
        from libranas.proxies import list_proxies

        print("\n".join(list_proxies()))
    else:
        from libranas.spaces import list_spaces

        print("\n".join(list_spaces()))
    return EXIT_OK
