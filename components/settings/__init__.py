"""Layer 1: the stack's configuration as frozen typed models, validated once with key-path errors."""

from .consistency import SECRET_CONFIG_KEYS, check_consistency, intermediate_ttls
from .durations import duration_seconds
from .errors import CONFIG_NAMESPACE, Problem, SettingsError
from .loader import load_settings, split_stack_config
from .models import (
    AclBootstrap,
    AppSettings,
    ChainName,
    ChainSettings,
    Environment,
    GatewayCertificateDelivery,
    IntentionAction,
    IntentionsRendering,
    KeyType,
    Protocol,
    RootCustody,
    Settings,
    VaultPlacement,
)

__all__ = [
    "CONFIG_NAMESPACE",
    "SECRET_CONFIG_KEYS",
    "AclBootstrap",
    "AppSettings",
    "ChainName",
    "ChainSettings",
    "Environment",
    "GatewayCertificateDelivery",
    "IntentionAction",
    "IntentionsRendering",
    "KeyType",
    "Problem",
    "Protocol",
    "RootCustody",
    "Settings",
    "SettingsError",
    "VaultPlacement",
    "check_consistency",
    "duration_seconds",
    "intermediate_ttls",
    "load_settings",
    "split_stack_config",
]
