// TLS for sockit (OpenSSL 3, library sockit::tls): contexts, a TLS Transport for Streams,
// a Service decorator that serves any protocol over TLS, and self-signed certificates.
// Link sockit::tls to use it; the core library does not depend on OpenSSL.
#pragma once

#include "sockit/tls/certificate.hpp"
#include "sockit/tls/tls_context.hpp"
#include "sockit/tls/tls_error.hpp"
#include "sockit/tls/tls_service.hpp"
#include "sockit/tls/tls_transport.hpp"
