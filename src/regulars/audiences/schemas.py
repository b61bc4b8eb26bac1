"""API shapes of audiences."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class AudienceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["gold, lapsing"])
    description: str = Field(default="", max_length=500)
    definition: dict[str, Any] = Field(
        examples=[
            {
                "kind": "all",
                "of": [
                    {"kind": "tier", "values": ["gold"]},
                    {"kind": "days_since_purchase", "min": 60},
                    {"kind": "consent", "values": ["sms"]},
                ],
            }
        ],
        description="Conditions: kind and its fields; combine them with all, any and not.",
    )


class Preview(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any]


class Count(BaseModel):
    members: int = Field(description="Active members the definition holds for now.")


class AudienceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    name: str
    description: str
    definition: dict[str, Any]
    created_at: datetime
    created_by: str
