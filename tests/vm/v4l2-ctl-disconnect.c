/*
 * v4l2-ctl-disconnect: presses vivid's "Disconnect" button on a node.
 *
 *   v4l2-ctl-disconnect DEVICE
 *
 * Sets control 0x00f0f041 (VIVID_CID_DISCONNECT) with VIDIOC_S_CTRL. vivid
 * then behaves like an unplugged USB camera: a streaming reader's poll()
 * returns POLLERR|POLLHUP, VIDIOC_DQBUF fails with ENODEV, and the node stays
 * dead until the driver is reloaded (rmmod vivid once the reader has closed
 * it, then insmod).
 */
#include <fcntl.h>
#include <linux/videodev2.h>
#include <stdio.h>
#include <sys/ioctl.h>

#define VIVID_CID_DISCONNECT 0x00f0f041

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s DEVICE\n", argv[0]);
		return 2;
	}
	int fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	struct v4l2_control ctrl = { .id = VIVID_CID_DISCONNECT, .value = 1 };
	if (ioctl(fd, VIDIOC_S_CTRL, &ctrl) < 0) {
		perror("VIDIOC_S_CTRL disconnect");
		return 1;
	}
	return 0;
}
