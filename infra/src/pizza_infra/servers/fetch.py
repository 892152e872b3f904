"""Fetching Kafka's jars, Apicurio Registry, Zipkin and Keycloak from Maven Central with
Maven, once.

Each download lands in a temporary folder and is renamed into the cache only when
complete, so an interrupted first run is simply repeated.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

from pizza_infra.config import INFRA_DIR, InfraError, InfraSettings


def _maven() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InfraError(
            "Maven (mvn) is needed to fetch Kafka and the schema registry from Maven Central; "
            "install it (Debian/Ubuntu: apt-get install maven) and run again."
        )
    return mvn


def run_maven(args: list[str], what: str) -> None:
    print(f"Fetching {what} from Maven Central (first run only) ...", file=sys.stderr, flush=True)
    result = subprocess.run(
        [_maven(), "-B", "-q", *args], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        raise InfraError(f"Maven could not fetch {what}:\n{tail}")


def kafka_libs(settings: InfraSettings) -> Path:
    """Folder of Kafka's runtime jars for ``settings.kafka_version``."""
    target = settings.cache_dir / f"kafka-{settings.kafka_version}" / "lib"
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as staging:
        run_maven(
            [
                "-f",
                str(INFRA_DIR / "kafka" / "pom.xml"),
                f"-Dkafka.version={settings.kafka_version}",
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={staging}",
            ],
            f"Apache Kafka {settings.kafka_version}",
        )
        Path(staging).rename(target)
    return target


def registry_app(settings: InfraSettings) -> Path:
    """Folder of Apicurio Registry's Quarkus fast-jar (holds ``quarkus-run.jar``)."""
    version = settings.registry_version
    target = settings.cache_dir / f"apicurio-registry-{version}"
    if (target / "quarkus-run.jar").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as staging:
        download = Path(staging) / "download"
        run_maven(
            [
                "dependency:copy",
                f"-Dartifact=io.apicurio:apicurio-registry-app:{version}:tar.gz:all",
                f"-DoutputDirectory={download}",
            ],
            f"Apicurio Registry {version}",
        )
        app = Path(staging) / "app"
        with tarfile.open(next(download.glob("*.tar.gz"))) as archive:
            archive.extractall(app, filter="data")
        if target.exists():
            shutil.rmtree(target)
        app.rename(target)
    return target


def zipkin_jar(settings: InfraSettings) -> Path:
    """Zipkin's server, one executable jar."""
    version = settings.zipkin_version
    target = settings.cache_dir / f"zipkin-server-{version}-exec.jar"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as staging:
        run_maven(
            [
                "dependency:copy",
                f"-Dartifact=io.zipkin:zipkin-server:{version}:jar:exec",
                f"-DoutputDirectory={staging}",
            ],
            f"Zipkin {version}",
        )
        next(Path(staging).glob("*.jar")).rename(target)
    return target


def keycloak_dist(settings: InfraSettings) -> Path:
    """Keycloak's distribution folder (``lib/quarkus-run.jar``, ``conf/``, ...), unzipped
    once and never written to: each data folder keeps its own build of it."""
    version = settings.keycloak_version
    target = settings.cache_dir / f"keycloak-{version}"
    if (target / "lib" / "quarkus-run.jar").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as staging:
        download = Path(staging) / "download"
        run_maven(
            [
                "dependency:copy",
                f"-Dartifact=org.keycloak:keycloak-quarkus-dist:{version}:zip",
                f"-DoutputDirectory={download}",
            ],
            f"Keycloak {version}",
        )
        unpacked = Path(staging) / "unpacked"
        with zipfile.ZipFile(next(download.glob("*.zip"))) as archive:
            archive.extractall(unpacked)  # noqa: S202 - zipfile drops absolute and .. paths
        if target.exists():
            shutil.rmtree(target)
        next(unpacked.iterdir()).rename(target)  # the archive's one folder, keycloak-<version>
    return target
