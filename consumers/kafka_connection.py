"""How every Kafka client of the ledger reaches the cluster: brokers, TLS and SASL.

A local broker listens in PLAINTEXT on loopback; a managed cluster usually wants SASL_SSL
(SCRAM or PLAIN over TLS). The same options go to the relay's producer, the consumers and
the admin client that creates the topic.
"""

from __future__ import annotations

from typing import Any

from aiokafka.helpers import create_ssl_context

from ledger.settings import ConfigurationError, Settings


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for an aiokafka client of the configured cluster."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "security_protocol": protocol,
    }
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,
            keyfile=settings.kafka_ssl_keyfile,
        )
    if protocol.startswith("SASL_"):
        password = settings.kafka_sasl_password
        if not settings.kafka_sasl_username or password is None:
            raise ConfigurationError(
                f"CREDLEDGER_KAFKA_SECURITY_PROTOCOL={protocol} needs "
                "CREDLEDGER_KAFKA_SASL_USERNAME and CREDLEDGER_KAFKA_SASL_PASSWORD"
            )
        options["sasl_mechanism"] = settings.kafka_sasl_mechanism
        options["sasl_plain_username"] = settings.kafka_sasl_username
        options["sasl_plain_password"] = password.get_secret_value()
    return options
