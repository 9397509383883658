import hashlib
import os
import uuid

SESSION_TOKEN_BYTES = 32
PASSWORD_MIN_LENGTH = 14
REQUEST_ID = uuid.UUID("6f1c2a9e-4b7d-4e3a-9c5f-2d8b7a1e0c34")


def token_fingerprint(token: str) -> str:
    # sha256 of the token, never the token itself
    return hashlib.sha256(token.encode()).hexdigest()


def load_secret(name: str) -> str:
    secret = os.environ.get(name)
    if secret is None:
        raise KeyError(f"missing secret {name}")
    return secret


api_key = os.getenv("BILLING_API_KEY")
password = load_secret("DB_PASSWORD")
token_sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
