"""The services' Kafka principals and their ACLs, applied idempotently at every start.

Each service's SCRAM credential is set anew from its password (a new password takes
effect at the next start; an old data folder gets its users the first time), and the
ACLs become exactly :data:`pizza_common.contracts.ACLS` for the platform's principals:
missing ones are created, ones no longer declared deleted. Other principals' ACLs are
left alone.
"""

from __future__ import annotations

import structlog
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialAlteration,
    UserScramCredentialUpsertion,
)

from pizza_common.contracts import ACLS, PRINCIPALS, Grant
from pizza_infra.config import InfraSettings
from pizza_infra.kafka_access import admin_config, password

log = structlog.get_logger(__name__)

SCRAM_ITERATIONS = 8192  # Kafka's minimum for SCRAM-SHA-512 is 4096
TIMEOUT_S = 30


# librdkafka calls Kafka's CLUSTER resource type BROKER (the same type, 4, on the wire).
RESOURCE_TYPES = {"CLUSTER": ResourceType.BROKER}


def binding(grant: Grant) -> AclBinding:
    return AclBinding(
        RESOURCE_TYPES.get(grant.resource) or ResourceType[grant.resource],
        grant.name,
        ResourcePatternType[grant.pattern],
        f"User:{grant.principal}",
        "*",
        AclOperation[grant.operation],
        AclPermissionType.ALLOW,
    )


def apply_users(settings: InfraSettings, admin: AdminClient) -> None:
    """Set every service principal's SCRAM-SHA-512 credential from its password (a new
    salt each time: harmless, connections authenticate only when they open)."""
    upserts: list[UserScramCredentialAlteration] = [
        UserScramCredentialUpsertion(
            principal,
            ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, SCRAM_ITERATIONS),
            password(settings, principal).encode(),
        )
        for principal in PRINCIPALS
    ]
    for future in admin.alter_user_scram_credentials(upserts).values():
        future.result()
    log.info("kafka users set", principals=list(PRINCIPALS))


def _principal_acls(admin: AdminClient, principal: str) -> set[AclBinding]:
    every = AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]  # None matches any name (the library's stub says str)
        ResourcePatternType.ANY,
        f"User:{principal}",
        None,  # type: ignore[arg-type]  # any host
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    return set(admin.describe_acls(every, request_timeout=TIMEOUT_S).result())


def apply_acls(admin: AdminClient) -> list[str]:
    """Make the platform principals' ACLs what :data:`ACLS` declares. One line per change."""
    wanted = {binding(grant): grant for grant in ACLS}
    present: set[AclBinding] = set()
    for principal in PRINCIPALS:
        present |= _principal_acls(admin, principal)
    changes: list[str] = []
    missing = [acl for acl in wanted if acl not in present]
    if missing:
        for future in admin.create_acls(missing, request_timeout=TIMEOUT_S).values():
            future.result()
        changes += [f"allowed {_describe(wanted[acl])}" for acl in missing]
    extra = sorted(present - wanted.keys(), key=str)
    if extra:
        filters = [_exactly(acl) for acl in extra]
        for future in admin.delete_acls(filters, request_timeout=TIMEOUT_S).values():
            future.result()
        changes += [f"revoked {acl}" for acl in extra]
    return changes


def apply_access(settings: InfraSettings) -> list[str]:
    """The services' users and ACLs, as declared; one line per change."""
    admin = AdminClient(admin_config(settings))
    apply_users(settings, admin)
    return apply_acls(admin)


def _exactly(acl: AclBinding) -> AclBindingFilter:
    return AclBindingFilter(
        acl.restype,
        acl.name,
        acl.resource_pattern_type,
        acl.principal,
        acl.host,
        acl.operation,
        acl.permission_type,
    )


def _describe(grant: Grant) -> str:
    prefixed = " (prefix)" if grant.prefixed else ""
    return f"{grant.principal} {grant.operation} {grant.resource.lower()} {grant.name}{prefixed}"
