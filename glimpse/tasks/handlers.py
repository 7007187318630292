"""Task type -> handler. Handlers are thin: the steps live in resolvers (imports, actions),
so the rules of an import or a copy are the same whichever runner executes them."""

from __future__ import annotations

from typing import Final

from glimpse.resolvers import actions, imports
from glimpse.tasks.runner import Handler

HANDLERS: Final[dict[str, Handler]] = {
    "api_image_import": Handler(imports.run_import, imports.import_failed),
    "import": Handler(imports.run_legacy_import, imports.legacy_import_failed),
    "copy": Handler(actions.run_copy, actions.copy_failed),
    "resize": Handler(actions.run_resize, actions.resize_failed),
}
