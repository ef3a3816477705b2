// Replacing a file atomically: the new bytes go to a temporary file in the target's directory
// (`<name>.tmp.<pid>.XXXXXX`, unique per call, so threads and processes saving one path never
// share one), are flushed (fsync), renamed over the target, and the directory is flushed so the
// rename survives a crash. A reader sees the old file or the new one, complete, never a mix.
//
// Policy:
// - Only a regular file is replaced (or created): a device (/dev/full), directory, FIFO or socket
//   at the path is refused and left alone.
// - A symlink is written through: its final target (a regular file, or a missing file in an
//   existing directory) is replaced atomically and the link stays a link. A broken link's target
//   is created.
// - An existing file keeps its permission bits; a new one gets 0644 (less the umask).
// - Temporaries left by a killed save are removed by the next save to the same target when their
//   writer process is gone (the pid in their name is not running) and they are older than
//   `stale_after` — the age guard keeps a live writer in another pid namespace (a container
//   sharing the directory) safe. Only regular files owned by us whose whole name matches the
//   pattern for this target are considered; nothing else is ever removed.
// - Every failure (including the directory's fsync, after the rename) throws CheckpointError
//   naming the path and the system's reason; before the rename, the old file is left intact.
#pragma once

#include <chrono>
#include <string>

namespace nn::detail {

inline constexpr std::chrono::seconds stale_after{600};

// `operation` ("save_checkpoint") begins every error message.
void replace_file_atomically(const std::string& path, const std::string& bytes, const std::string& operation);

}  // namespace nn::detail
