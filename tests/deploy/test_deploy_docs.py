"""Every deploy file is pointed at from the README's "Deploy" section (or deploy/postfix.md)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_deploy_file_is_documented() -> None:
    """An operator finds each file under deploy/ (and the Dockerfile) from the README."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    deploy = readme.split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]
    documents = deploy + (ROOT / "deploy" / "postfix.md").read_text(encoding="utf-8")
    files = [p for p in (ROOT / "deploy").rglob("*") if p.is_file() and p.name != ".gitignore"]
    missing = [
        str(p.relative_to(ROOT))
        for p in [*files, ROOT / "Dockerfile"]
        if str(p.relative_to(ROOT)) not in documents and p.name not in documents
    ]
    assert not missing, f"not named in README's Deploy section: {missing}"
