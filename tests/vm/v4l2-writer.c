/*
 * v4l2-writer: feeds a v4l2loopback node with known YUYV 640x480 frames.
 *
 *   v4l2-writer DEVICE SUMS_FILE [FRAMES]
 *
 * Sets the node's output format to YUYV 640x480, writes the FNV-1a 64-bit
 * checksum of each of its 8 distinct frames to SUMS_FILE (one line per frame,
 * "frame <i> fnv1a64 <16 hex digits>"), then write()s the frames in turn at
 * about 30 fps: FRAMES of them, or until killed when FRAMES is 0 or absent.
 * On exit it prints "v4l2-writer: wrote <n> frames" on stderr.
 * Frame i is a diagonal luma gradient with a bright vertical bar at x = 80 i
 * and chroma that moves with i, so every frame differs from the others.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define WIDTH 640
#define HEIGHT 480
#define FRAME_BYTES (WIDTH * HEIGHT * 2)
#define DISTINCT 8

static unsigned char frames[DISTINCT][FRAME_BYTES];
static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* FNV-1a 64-bit, as siamedge reports it in frames.toml. */
static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Fills frame i: YUYV, two pixels (Y0 U Y1 V) per 4 bytes. */
static void draw(int i, unsigned char *f)
{
	for (int y = 0; y < HEIGHT; y++) {
		for (int x = 0; x < WIDTH; x += 2) {
			unsigned char *px = f + (y * WIDTH + x) * 2;
			int bar = x >= i * 80 && x < i * 80 + 40;
			px[0] = bar ? 235 : 16 + (x + y) * 200 / (WIDTH + HEIGHT);
			px[1] = 128 + i * 12;
			px[2] = bar ? 235 : 16 + (x + 1 + y) * 200 / (WIDTH + HEIGHT);
			px[3] = 128 - i * 12;
		}
	}
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		fprintf(stderr, "usage: %s DEVICE SUMS_FILE [FRAMES]\n", argv[0]);
		return 2;
	}
	long limit = argc == 4 ? atol(argv[3]) : 0;

	int fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT };
	fmt.fmt.pix.width = WIDTH;
	fmt.fmt.pix.height = HEIGHT;
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_YUYV;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	fmt.fmt.pix.bytesperline = WIDTH * 2;
	fmt.fmt.pix.sizeimage = FRAME_BYTES;
	if (ioctl(fd, VIDIOC_S_FMT, &fmt) < 0) {
		perror("VIDIOC_S_FMT");
		return 1;
	}
	if (fmt.fmt.pix.pixelformat != V4L2_PIX_FMT_YUYV ||
	    fmt.fmt.pix.width != WIDTH || fmt.fmt.pix.height != HEIGHT) {
		fprintf(stderr, "v4l2-writer: driver chose %ux%u, not YUYV %dx%d\n",
			fmt.fmt.pix.width, fmt.fmt.pix.height, WIDTH, HEIGHT);
		return 1;
	}

	FILE *sums = fopen(argv[2], "w");
	if (!sums) {
		perror(argv[2]);
		return 1;
	}
	for (int i = 0; i < DISTINCT; i++) {
		draw(i, frames[i]);
		fprintf(sums, "frame %d fnv1a64 %016llx\n", i,
			(unsigned long long)fnv1a64(frames[i], FRAME_BYTES));
	}
	fclose(sums);

	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	long written = 0;
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!stop && (limit == 0 || written < limit)) {
		ssize_t n = write(fd, frames[written % DISTINCT], FRAME_BYTES);
		if (n != FRAME_BYTES) {
			if (n < 0 && errno == EINTR)
				continue;
			fprintf(stderr, "v4l2-writer: write: %s\n",
				n < 0 ? strerror(errno) : "short write");
			return 1;
		}
		written++;
		/* ~30 fps on an absolute schedule: 33.333 ms per frame. */
		next.tv_nsec += 33333333;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR && !stop)
			;
	}
	fprintf(stderr, "v4l2-writer: wrote %ld frames\n", written);
	return 0;
}
