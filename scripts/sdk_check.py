#!/usr/bin/env python3
"""Checks wire samples against the official SDKs' types (run by scripts/sdk-check.sh).

Usage: sdk_check.py DIR

DIR holds JSON Lines files (any may be missing; each line one JSON value):
  anthropic-requests.jsonl   Messages request bodies the tool sent  -> MessageCreateParamsNonStreaming
  anthropic-batch-create.jsonl  Message Batches create bodies       -> BatchCreateParams
  anthropic-messages.jsonl   200 answers of the fault server        -> Message
  anthropic-errors.jsonl     error answers of the fault server      -> ErrorResponse
  anthropic-batches.jsonl    MessageBatch objects                   -> MessageBatch
  anthropic-results.jsonl    results-file lines                     -> MessageBatchIndividualResponse
  gemini-requests.jsonl      generateContent request bodies         -> Content, GenerationConfig
  gemini-responses.jsonl     200 answers                            -> GenerateContentResponse
  gemini-errors.jsonl        error answers                          -> {"error": {code, message, status, details}}
  gemini-batch-create.jsonl  batchGenerateContent bodies            -> InlinedRequest (request, metadata)
  gemini-batches.jsonl       batch objects                          -> BatchJob (via _BatchJob_from_mldev); inlined responses
  gemini-responses-file.jsonl  lines of a batch's responses file     -> {"key", "response": GenerateContentResponse | "error": JobError}
  anthropic-models.jsonl     pages of GET /v1/models                -> SyncPage[ModelInfo]
  gemini-models.jsonl        pages of GET /v1beta/models            -> ListModelsResponse (via _ListModelsResponse_from_mldev)

A request passes when validating it with the SDK's TypedDict (pydantic TypeAdapter) gives back
exactly the same value: a key the SDK does not define would be dropped, a mistyped value
refused. An answer passes when the SDK's pydantic model accepts it and keeps no extra field
anywhere (google-genai's models forbid extras themselves). Prints one line per file and exits 1
on the first file with a failure (naming file:line and the cause).
"""
import json
import os
import sys

import pydantic
import anthropic
from anthropic.pagination import SyncPage
from anthropic.types import Message, ModelInfo
from anthropic.types import message_create_params
from anthropic.types.messages import MessageBatch, MessageBatchIndividualResponse, batch_create_params
from anthropic.types.shared import ErrorResponse
from google.genai import types as gtypes
import google.genai


def extras(value, path="$"):
    """Paths of fields a pydantic model kept as extras (unknown keys), recursively."""
    found = []
    if isinstance(value, pydantic.BaseModel):
        for key in (value.model_extra or {}):
            found.append(f"{path}.{key}")
        for name in type(value).model_fields:
            found += extras(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found += extras(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            found += extras(item, f"{path}.{key}")
    return found


def materialize(value):
    """The value with the lazy iterators pydantic returns for `Iterable[...]` fields made lists."""
    if isinstance(value, dict):
        return {key: materialize(item) for key, item in value.items()}
    if isinstance(value, (str, bytes, int, float, bool)) or value is None:
        return value
    try:
        return [materialize(item) for item in value]
    except TypeError:
        return value


def check_typed_dict(adapter):
    def check(value):
        validated = materialize(adapter.validate_python(value))
        if validated != value:
            raise ValueError("the SDK's type drops or changes keys or values: sent %s, the type gives %s" % (json.dumps(value)[:300], json.dumps(validated, default=str)[:300]))
    return check


def check_model(model):
    def check(value):
        parsed = model.model_validate(value)
        unknown = extras(parsed)
        if unknown:
            raise ValueError("fields the SDK does not define: " + ", ".join(unknown))
    return check


def check_gemini_request(value):
    allowed = {"contents", "systemInstruction", "generationConfig"}
    if not set(value) <= allowed:
        raise ValueError("top-level keys outside %s: %s" % (sorted(allowed), sorted(set(value) - allowed)))
    for content in value.get("contents", []):
        gtypes.Content.model_validate(content)
    if "systemInstruction" in value:
        gtypes.Content.model_validate(value["systemInstruction"])
    config = gtypes.GenerationConfig.model_validate(value.get("generationConfig", {}))
    if config.response_mime_type != "application/json" or (config.response_json_schema is None and config.response_schema is None):
        raise ValueError("the answer is not schema-constrained (responseMimeType application/json with responseJsonSchema or responseSchema)")


def check_gemini_error(value):
    error = value["error"]
    if not isinstance(error.get("code"), int) or not isinstance(error.get("message"), str) or not isinstance(error.get("status"), str):
        raise ValueError("error needs code (int), message and status (strings)")
    for detail in error.get("details", []):
        if detail.get("@type") == "type.googleapis.com/google.rpc.RetryInfo" and not str(detail.get("retryDelay", "")).endswith("s"):
            raise ValueError("RetryInfo.retryDelay must be a duration like '30s'")


def check_gemini_batch_create(value):
    """`{"batch": {"displayName", "inputConfig": {"requests": {"requests": [InlinedRequest]}}}}`
    as `_CreateBatchJobParameters_to_mldev` and `_InlinedRequest_to_mldev` build it."""
    batch = value["batch"]
    if not set(value) <= {"batch"} or not set(batch) <= {"displayName", "inputConfig", "webhookConfig"}:
        raise ValueError("keys outside batch.{displayName, inputConfig, webhookConfig}")
    source = batch["inputConfig"]
    if set(source) - {"requests", "fileName"} or set(source["requests"]) != {"requests"}:
        raise ValueError("inputConfig holds requests.requests (or fileName) only")
    for entry in source["requests"]["requests"]:
        if not set(entry) <= {"request", "metadata"} or not isinstance(entry.get("metadata", {}), dict):
            raise ValueError("an inlined request holds request and metadata only")
        request = dict(entry["request"])
        model = request.pop("model", "")
        if not model.startswith("models/"):
            raise ValueError("request.model must be models/NAME (t_model)")
        check_gemini_request(request)


def check_gemini_batch(value):
    """A batch as `_BatchJob_from_mldev` reads it; its inlined responses as GenerateContentResponse."""
    from google.genai.batches import _BatchJob_from_mldev
    if not set(value) <= {"name", "metadata", "done", "error", "response"}:
        raise ValueError("top-level keys outside name, metadata, done, error, response")
    known = {"@type", "displayName", "state", "createTime", "endTime", "updateTime", "model", "output", "batchStats", "priority"}
    if not set(value.get("metadata", {})) <= known:
        raise ValueError("metadata keys the SDK does not read: %s" % sorted(set(value["metadata"]) - known))
    job = gtypes.BatchJob.model_validate(_BatchJob_from_mldev(value))
    if job.state is None or not str(job.state).startswith("JobState.JOB_STATE_") and not str(job.state).startswith("JOB_STATE_"):
        raise ValueError("state %r is not a JobState" % (job.state,))
    output = (value.get("metadata") or {}).get("output") or {}
    if not set(output) <= {"inlinedResponses", "responsesFile"}:
        raise ValueError("output keys outside inlinedResponses, responsesFile: %s" % sorted(output))
    if "responsesFile" in output and (job.dest is None or not str(job.dest.file_name).startswith("files/")):
        raise ValueError("output.responsesFile must be a file name files/NAME (BatchJobDestination.file_name)")
    for entry in (output.get("inlinedResponses") or {}).get("inlinedResponses", []):
        if not set(entry) <= {"response", "error", "metadata"}:
            raise ValueError("an inlined response holds response, error and metadata only")
        if "response" in entry:
            check_model(gtypes.GenerateContentResponse)(entry["response"])
        if "error" in entry:
            gtypes.JobError.model_validate(entry["error"])


def check_gemini_responses_file_line(value):
    """A line of a batch's responses file: the request's key and a GenerateContentResponse, or
    an error (the SDK reads no such file: its parts are checked against the SDK's types)."""
    if not isinstance(value.get("key"), str) or not set(value) <= {"key", "response", "error"} or len(value) != 2:
        raise ValueError("a line holds key and one of response, error")
    if "response" in value:
        check_model(gtypes.GenerateContentResponse)(value["response"])
    else:
        gtypes.JobError.model_validate(value["error"])


# The fields `_Model_from_mldev` reads (google-genai 3.6.1, models.py); the others it drops.
GEMINI_MODEL_FIELDS = {"name", "displayName", "description", "version", "inputTokenLimit", "outputTokenLimit",
                       "supportedGenerationMethods", "temperature", "maxTemperature", "topP", "topK", "thinking"}


def check_gemini_models(value):
    """A page of `models.list` as `_ListModelsResponse_from_mldev` and `ListModelsResponse` read it."""
    from google.genai.models import _ListModelsResponse_from_mldev
    if not set(value) <= {"models", "nextPageToken"}:
        raise ValueError("top-level keys outside models, nextPageToken: %s" % sorted(value))
    for model in value.get("models", []):
        if not set(model) <= GEMINI_MODEL_FIELDS:
            raise ValueError("model fields the SDK does not read: %s" % sorted(set(model) - GEMINI_MODEL_FIELDS))
        if not model.get("name", "").startswith("models/"):
            raise ValueError("a model's name must be models/NAME")
    page = gtypes.ListModelsResponse._from_response(response=_ListModelsResponse_from_mldev(dict(value)), kwargs={})
    if len(page.models or []) != len(value.get("models", [])):
        raise ValueError("the SDK reads %d models of %d" % (len(page.models or []), len(value.get("models", []))))


def constrained_anthropic(value):
    check_typed_dict(message_create_params_adapter)(value)
    fmt = (value.get("output_config") or {}).get("format")
    tool = value.get("tool_choice")
    if not (fmt and fmt.get("type") == "json_schema") and not (tool and tool.get("type") == "tool"):
        raise ValueError("the answer is not schema-constrained (no output_config.format json_schema, no forced tool)")


message_create_params_adapter = pydantic.TypeAdapter(message_create_params.MessageCreateParamsNonStreaming)

CHECKS = {
    "anthropic-requests.jsonl": constrained_anthropic,
    "anthropic-batch-create.jsonl": check_typed_dict(pydantic.TypeAdapter(batch_create_params.BatchCreateParams)),
    "anthropic-messages.jsonl": check_model(Message),
    "anthropic-errors.jsonl": check_model(ErrorResponse),
    "anthropic-batches.jsonl": check_model(MessageBatch),
    "anthropic-results.jsonl": check_model(MessageBatchIndividualResponse),
    "gemini-requests.jsonl": check_gemini_request,
    "gemini-responses.jsonl": check_model(gtypes.GenerateContentResponse),
    "gemini-errors.jsonl": check_gemini_error,
    "gemini-batch-create.jsonl": check_gemini_batch_create,
    "gemini-batches.jsonl": check_gemini_batch,
    "gemini-responses-file.jsonl": check_gemini_responses_file_line,
    "anthropic-models.jsonl": check_model(SyncPage[ModelInfo]),
    "gemini-models.jsonl": check_gemini_models,
}


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    folder = sys.argv[1]
    print("anthropic %s, google-genai %s" % (anthropic.__version__, google.genai.__version__))
    total = 0
    for name, check in CHECKS.items():
        path = os.path.join(folder, name)
        if not os.path.exists(path):
            continue
        count = 0
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    check(json.loads(line))
                except Exception as error:  # one line naming file:line and the cause
                    print("%s:%d: %s" % (path, number, str(error).replace("\n", " ")[:600]), file=sys.stderr)
                    return 1
                count += 1
        print("%s: %d ok" % (name, count))
        total += count
    if total == 0:
        print("%s: no samples" % folder, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
