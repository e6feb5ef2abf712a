// Test support: a host name whose lookup fails on this machine alone, network or not.
#pragma once

namespace sockit::test {

// glibc's DNS backend checks a name's syntax (res_hnok: letters, digits, '-' and '.')
// before it builds a query, and answers "Name or service not known" (EAI_NONAME) for one
// with a '!' without asking any server: the failure does not depend on a name server being
// reachable (without one, a well-formed name gives EAI_AGAIN after a timeout). The
// reserved .invalid domain (RFC 6761) keeps it unresolvable for a resolver that asked
// anyway, and /etc/hosts does not hold such a name.
inline constexpr const char* unresolvable_host = "nosuch!.invalid";

}  // namespace sockit::test
