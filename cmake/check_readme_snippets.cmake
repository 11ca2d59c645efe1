# Checks that every code block the README quotes from a source file is still that file's code.
#
#   cmake -DROOT=<repository> -P cmake/check_readme_snippets.cmake
#
# In README.md a quoted block is announced by a comment naming the file and the region:
#   <!-- snippet: examples/counter/counter_layer.cpp commands -->
#   ```cpp
#   ...
#   ```
# and the file marks the region with lines containing "[readme-begin commands]" and
# "[readme-end commands]" (in a comment of the file's language). The lines in between, less the
# first line's indentation, must equal the block. Fails naming each block that differs.
cmake_minimum_required(VERSION 3.18)

if(NOT ROOT)
  message(FATAL_ERROR "usage: cmake -DROOT=<repository> -P check_readme_snippets.cmake")
endif()

# Sets ${out} to the marked region `name` of `file`, dedented; fails if it is not there.
function(read_region file name out)
  if(NOT EXISTS "${ROOT}/${file}")
    message(FATAL_ERROR "README quotes ${file}, which does not exist")
  endif()
  file(READ "${ROOT}/${file}" text)
  string(FIND "${text}" "[readme-begin ${name}]" begin)
  string(FIND "${text}" "[readme-end ${name}]" end)
  if(begin EQUAL -1 OR end EQUAL -1 OR end LESS begin)
    message(FATAL_ERROR "${file} has no region [readme-begin ${name}] ... [readme-end ${name}]")
  endif()
  # From the line after the begin marker to the end of the line before the end marker.
  string(SUBSTRING "${text}" ${begin} -1 after_begin)
  string(FIND "${after_begin}" "\n" newline)
  math(EXPR first "${begin} + ${newline} + 1")
  string(SUBSTRING "${text}" 0 ${end} before_end)
  string(FIND "${before_end}" "\n" last REVERSE)
  math(EXPR length "${last} - ${first}")
  if(length LESS 0)
    set(length 0)
  endif()
  string(SUBSTRING "${text}" ${first} ${length} region)
  # Remove the first line's indentation from every line.
  string(REGEX MATCH "^ +" indent "${region}")
  if(NOT indent STREQUAL "")
    string(REPLACE "\n${indent}" "\n" region "\n${region}")
    string(SUBSTRING "${region}" 1 -1 region)
  endif()
  set(${out} "${region}" PARENT_SCOPE)
endfunction()

file(READ "${ROOT}/README.md" readme)
set(checked 0)
set(failed 0)
while(TRUE)
  string(FIND "${readme}" "<!-- snippet: " at)
  if(at EQUAL -1)
    break()
  endif()
  string(SUBSTRING "${readme}" ${at} -1 readme)
  string(FIND "${readme}" "-->" close)
  math(EXPR length "${close} - 14")  # 14: the length of "<!-- snippet: "
  string(SUBSTRING "${readme}" 14 ${length} reference)
  string(STRIP "${reference}" reference)
  string(REPLACE " " ";" parts "${reference}")
  list(LENGTH parts count)
  if(NOT count EQUAL 2)
    message(FATAL_ERROR "malformed snippet reference '${reference}': want 'FILE REGION'")
  endif()
  list(GET parts 0 file)
  list(GET parts 1 name)
  # The fenced block right after the comment: from the line after ``` to the closing ```.
  string(FIND "${readme}" "```" fence)
  string(SUBSTRING "${readme}" ${fence} -1 readme)
  string(FIND "${readme}" "\n" newline)
  math(EXPR body "${newline} + 1")
  string(SUBSTRING "${readme}" ${body} -1 readme)
  string(FIND "${readme}" "\n```" fence_end)
  if(fence_end EQUAL -1)
    message(FATAL_ERROR "the block quoting ${file} ${name} is not closed")
  endif()
  string(SUBSTRING "${readme}" 0 ${fence_end} block)
  string(SUBSTRING "${readme}" ${fence_end} -1 readme)

  read_region("${file}" "${name}" region)
  math(EXPR checked "${checked} + 1")
  if(NOT "${block}" STREQUAL "${region}")
    math(EXPR failed "${failed} + 1")
    message(SEND_ERROR "README.md's block for ${file} [${name}] differs from the source.\n"
                       "--- README ---\n${block}\n--- ${file} ---\n${region}\n---")
  endif()
endwhile()

if(checked EQUAL 0)
  message(FATAL_ERROR "README.md quotes no snippet; expected the example's code")
endif()
if(failed GREATER 0)
  message(FATAL_ERROR "${failed} of ${checked} README snippets are out of date")
endif()
message(STATUS "${checked} README snippets match their sources")
