"""Masking of personal data for screens, paper and logs (GB/T 35273 §7.2)."""

from __future__ import annotations


def mask_id_number(value: str) -> str:
    """``350203199001011234`` → ``3502**********1234`` (first 4, last 4 kept)."""
    value = value.strip()
    if len(value) <= 8:
        return "*" * len(value)
    return value[:4] + "*" * (len(value) - 8) + value[-4:]


def mask_phone(value: str) -> str:
    """``13912345678`` → ``139****5678``."""
    value = value.strip()
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str) -> str:
    """``张三丰`` → ``张**``; Latin names keep their first letter (``Lee Ann`` → ``L******``)."""
    value = value.strip()
    if len(value) <= 1:
        return value
    return value[0] + "*" * (len(value) - 1)
