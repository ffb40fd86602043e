package io.ballast.engine.attach;

import java.nio.file.Path;

/**
 * A bound loop device.
 *
 * @param device    {@code /dev/loopN}
 * @param number    N
 * @param backing   the backing file as given to {@link LoopDevices#attach}
 * @param blockSize the logical block size set
 * @param directIo  whether the kernel kept LO_FLAGS_DIRECT_IO (read back after configuring)
 */
public record LoopDevice(Path device, int number, Path backing, int blockSize, boolean directIo) {
}
