#ifndef LLMKIT_CCURL_SHIM_H
#define LLMKIT_CCURL_SHIM_H
#include <curl/curl.h>

/// curl_version_info takes a CURLversion enum constant defined as a macro alias; wrap it.
static inline const curl_version_info_data *llmkit_curl_version_info(void) {
    return curl_version_info(CURLVERSION_NOW);
}
#endif
