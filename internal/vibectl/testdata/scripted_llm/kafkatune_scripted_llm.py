"""A scripted model for the llm library, used by kafkatune's tests.

It lets the real vibectl run end to end without an LLM. Planning calls
(those that carry a JSON schema) get the next reply of the JSON list in
$KAFKATUNE_SCRIPTED_LLM_SCRIPT, the last one repeating; every other call
(memory updates, summaries, recovery) gets a short plain text. Each prompt
is appended as a JSON line to $KAFKATUNE_SCRIPTED_LLM_LOG.
"""

import json
import os

import llm


@llm.hookimpl
def register_models(register):
    register(ScriptedModel())


class ScriptedModel(llm.Model):
    model_id = "kafkatune-scripted"
    supports_schema = True
    can_stream = True

    def execute(self, prompt, stream, response, conversation):
        fragments = [str(f) for f in (getattr(prompt, "fragments", None) or [])]
        planning = prompt.schema is not None
        record = {
            "planning": planning,
            "system": prompt.system or "",
            "prompt": prompt.prompt or "",
            "fragments": fragments,
        }
        with open(os.environ["KAFKATUNE_SCRIPTED_LLM_LOG"], "a") as f:
            f.write(json.dumps(record) + "\n")
        if not planning:
            yield "Scripted model: noted."
            return
        script = os.environ["KAFKATUNE_SCRIPTED_LLM_SCRIPT"]
        with open(script) as f:
            replies = json.load(f)
        counter = script + ".next"
        n = 0
        if os.path.exists(counter):
            with open(counter) as f:
                n = int(f.read())
        with open(counter, "w") as f:
            f.write(str(n + 1))
        yield json.dumps(replies[min(n, len(replies) - 1)])
