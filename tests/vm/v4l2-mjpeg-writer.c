/*
 * v4l2-mjpeg-writer: feeds a v4l2loopback node with JPEG files as MJPEG
 * frames, as a USB camera would send them.
 *
 *   v4l2-mjpeg-writer DEVICE FILE.jpg WIDTH HEIGHT [NEXT.jpg...]
 *
 * Sets the node's output format to MJPG WIDTH x HEIGHT and write()s the
 * current file's bytes as one frame, about 10 times a second, until killed.
 * It starts with FILE.jpg; each SIGUSR1 moves on to the next file (the last
 * one stays), so a test can change the scene when it chooses.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static volatile sig_atomic_t advance;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		advance++;
	else
		stop = 1;
}

struct frame {
	unsigned char *bytes;
	size_t size;
};

static int load(const char *path, struct frame *out)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f || stat(path, &st) < 0) {
		perror(path);
		return -1;
	}
	out->size = st.st_size;
	out->bytes = malloc(out->size);
	if (!out->bytes || fread(out->bytes, 1, out->size, f) != out->size) {
		fprintf(stderr, "v4l2-mjpeg-writer: cannot read %s\n", path);
		return -1;
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s DEVICE FILE.jpg WIDTH HEIGHT [NEXT.jpg...]\n", argv[0]);
		return 2;
	}
	int count = argc - 4;
	struct frame *frames = calloc(count, sizeof *frames);
	const char **paths = calloc(count, sizeof *paths);
	paths[0] = argv[2];
	for (int i = 1; i < count; i++)
		paths[i] = argv[i + 4];
	size_t largest = 0;
	for (int i = 0; i < count; i++) {
		if (load(paths[i], &frames[i]) < 0)
			return 1;
		if (frames[i].size > largest)
			largest = frames[i].size;
	}

	int fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_OUTPUT };
	fmt.fmt.pix.width = atoi(argv[3]);
	fmt.fmt.pix.height = atoi(argv[4]);
	fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_MJPEG;
	fmt.fmt.pix.field = V4L2_FIELD_NONE;
	fmt.fmt.pix.sizeimage = largest > fmt.fmt.pix.width * fmt.fmt.pix.height * 2
		? largest : fmt.fmt.pix.width * fmt.fmt.pix.height * 2;
	if (ioctl(fd, VIDIOC_S_FMT, &fmt) < 0) {
		perror("VIDIOC_S_FMT");
		return 1;
	}
	if (fmt.fmt.pix.pixelformat != V4L2_PIX_FMT_MJPEG) {
		fprintf(stderr, "v4l2-mjpeg-writer: the driver refused MJPG\n");
		return 1;
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	long written = 0;
	int current = 0;
	while (!stop) {
		int wanted = advance < count - 1 ? advance : count - 1;
		if (wanted != current) {
			current = wanted;
			fprintf(stderr, "v4l2-mjpeg-writer: now %s after %ld frames\n", paths[current], written);
		}
		struct frame *fr = &frames[current];
		ssize_t n = write(fd, fr->bytes, fr->size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)fr->size) {
			fprintf(stderr, "v4l2-mjpeg-writer: write: %s\n", n < 0 ? strerror(errno) : "short write");
			return 1;
		}
		written++;
		usleep(100000);
	}
	fprintf(stderr, "v4l2-mjpeg-writer: wrote %ld frames\n", written);
	return 0;
}
