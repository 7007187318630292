"""Documented argument types shared by image queries and mutations."""

from __future__ import annotations

from typing import Annotated

import strawberry

from glimpse.schema.types import MemberStatus

ImageIdArg = Annotated[strawberry.ID, strawberry.argument(description="Image id (UUID).")]
TagArg = Annotated[str, strawberry.argument(description="The tag.")]
KeyArg = Annotated[str, strawberry.argument(description="Custom property name.")]
ValueArg = Annotated[str, strawberry.argument(description="Custom property value.")]
MemberArg = Annotated[str, strawberry.argument(description="Member project id.")]
MemberStatusArg = Annotated[MemberStatus, strawberry.argument(description="The new status.")]
