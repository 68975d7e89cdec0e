"""Web navigation: MiniWoB++-style tasks generated as HTML pages, a fast in-process DOM backend (lxml) and a real
Chromium backend (Playwright)."""

from appliedrl.envs.web.env import InvalidActionError, WebNavEnv, encode, tokens
from appliedrl.envs.web.tasks import TASKS, Task, make_task

__all__ = ["InvalidActionError", "TASKS", "Task", "WebNavEnv", "encode", "make_task", "tokens"]
