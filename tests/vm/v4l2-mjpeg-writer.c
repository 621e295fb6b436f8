/*
 * v4l2-mjpeg-writer: feeds a v4l2loopback node with one JPEG file as MJPEG
 * frames, as a USB camera would send them.
 *
 *   v4l2-mjpeg-writer DEVICE FILE.jpg WIDTH HEIGHT
 *
 * Sets the node's output format to MJPG WIDTH x HEIGHT and write()s the
 * file's bytes as one frame, about 10 times a second, until killed.
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

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: %s DEVICE FILE.jpg WIDTH HEIGHT\n", argv[0]);
		return 2;
	}
	FILE *f = fopen(argv[2], "rb");
	struct stat st;
	if (!f || stat(argv[2], &st) < 0) {
		perror(argv[2]);
		return 1;
	}
	unsigned char *jpeg = malloc(st.st_size);
	if (!jpeg || fread(jpeg, 1, st.st_size, f) != (size_t)st.st_size) {
		fprintf(stderr, "v4l2-mjpeg-writer: cannot read %s\n", argv[2]);
		return 1;
	}
	fclose(f);

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
	fmt.fmt.pix.sizeimage = st.st_size > fmt.fmt.pix.width * fmt.fmt.pix.height * 2
		? st.st_size : fmt.fmt.pix.width * fmt.fmt.pix.height * 2;
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
	long written = 0;
	while (!stop) {
		ssize_t n = write(fd, jpeg, st.st_size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != st.st_size) {
			fprintf(stderr, "v4l2-mjpeg-writer: write: %s\n", n < 0 ? strerror(errno) : "short write");
			return 1;
		}
		written++;
		usleep(100000);
	}
	fprintf(stderr, "v4l2-mjpeg-writer: wrote %ld frames\n", written);
	return 0;
}
