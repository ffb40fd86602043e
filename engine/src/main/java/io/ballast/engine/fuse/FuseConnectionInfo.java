package io.ballast.engine.fuse;

/**
 * What the kernel offered in FUSE_INIT and what we answered: the connection's limits.
 *
 * @param kernelMajor   protocol major the kernel speaks (7)
 * @param kernelMinor   protocol minor the kernel speaks (e.g. 45 on Linux 6.18)
 * @param minor         the minor we answered (the lower of the kernel's and ours)
 * @param kernelFlags   FUSE_* capability flags the kernel offered (flags2 in the upper 32 bits)
 * @param flags         the subset we enabled
 * @param maxWrite      max_write we answered (bytes per WRITE)
 * @param maxPages      max_pages we answered (pages per request); the kernel further caps it
 *                      at its max_pages_limit
 * @param maxReadahead  readahead bytes we answered (at most the kernel's offer)
 * @param maxBackground max_background we answered
 */
public record FuseConnectionInfo(int kernelMajor, int kernelMinor, int minor, long kernelFlags, int flags,
                                 int maxWrite, int maxPages, int maxReadahead, int maxBackground) {
    /** True when the kernel sends O_DIRECT reads and writes of one file asynchronously (FUSE_ASYNC_DIO). */
    public boolean asyncDirectIo() {
        return (flags & FuseConstants.INIT_ASYNC_DIO) != 0;
    }

    /** True when the kernel can resend requests a dead server left unanswered (Linux 6.9+). */
    public boolean kernelResends() {
        return (kernelFlags & FuseConstants.INIT_HAS_RESEND) != 0;
    }

    /** One token (no spaces) that {@link #decode} reads back: kept with the connection across restarts. */
    public String encode() {
        return kernelMajor + "," + kernelMinor + "," + minor + "," + kernelFlags + "," + flags + "," + maxWrite + ","
                + maxPages + "," + maxReadahead + "," + maxBackground;
    }

    /** The inverse of {@link #encode}; IllegalArgumentException for anything else. */
    public static FuseConnectionInfo decode(String s) {
        String[] f = s.split(",");
        if (f.length != 9) {
            throw new IllegalArgumentException("not an encoded FUSE connection: '" + s + "'");
        }
        try {
            return new FuseConnectionInfo(Integer.parseInt(f[0]), Integer.parseInt(f[1]), Integer.parseInt(f[2]),
                    Long.parseLong(f[3]), Integer.parseInt(f[4]), Integer.parseInt(f[5]), Integer.parseInt(f[6]),
                    Integer.parseInt(f[7]), Integer.parseInt(f[8]));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not an encoded FUSE connection: '" + s + "'", e);
        }
    }
}
