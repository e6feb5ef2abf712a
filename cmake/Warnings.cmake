# Warnings are errors, for every target of ours, on g++ and clang alike.
add_library(sockit_warnings INTERFACE)
target_compile_options(sockit_warnings INTERFACE -Wall -Wextra -Wpedantic -Werror -Wshadow
                                                 -Wnon-virtual-dtor -Wold-style-cast)
