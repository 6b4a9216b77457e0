#ifndef LLMKIT_CJANSSON_SHIM_H
#define LLMKIT_CJANSSON_SHIM_H
#include <jansson.h>

/// json_typeof is a macro in jansson.h; Swift cannot import function-like macros.
static inline json_type llmkit_json_typeof(const json_t *json) { return json_typeof(json); }
#endif
