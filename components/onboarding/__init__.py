"""Application onboarding: app identities, dynamic database credentials, API gateway certificates."""
