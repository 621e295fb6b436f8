// SPDX-License-Identifier: GPL-2.0
/*
 * gpio-rec: a GPIO chip with no hardware behind it, for the siamedge VM test.
 *
 * It registers one chip of 8 lines ("siamedge-test", so /dev/gpiochip0 in a
 * VM with no other chip), keeps each line's value and direction in memory and
 * logs every change of an output's value, e.g. "gpio-rec: line 3 -> 1".
 * Booted with printk.time=1, the kernel log then shows how long a line was
 * held, and /sys/kernel/debug/gpio shows it (and its consumer) while held.
 */
#define pr_fmt(fmt) "gpio-rec: " fmt

#include <linux/bitops.h>
#include <linux/gpio/driver.h>
#include <linux/module.h>

#define GPIO_REC_LINES 8

static DECLARE_BITMAP(values, GPIO_REC_LINES);
static DECLARE_BITMAP(outputs, GPIO_REC_LINES);

/* Stores a line's value, logging it when it changes. */
static void gpio_rec_store(unsigned int offset, int value)
{
	bool high = value != 0;

	if (test_bit(offset, values) != high)
		pr_info("line %u -> %d\n", offset, high);
	assign_bit(offset, values, high);
}

static int gpio_rec_get(struct gpio_chip *gc, unsigned int offset)
{
	return test_bit(offset, values);
}

static void gpio_rec_set(struct gpio_chip *gc, unsigned int offset, int value)
{
	gpio_rec_store(offset, value);
}

static int gpio_rec_direction_output(struct gpio_chip *gc, unsigned int offset,
				     int value)
{
	gpio_rec_store(offset, value);
	set_bit(offset, outputs);
	return 0;
}

static int gpio_rec_direction_input(struct gpio_chip *gc, unsigned int offset)
{
	clear_bit(offset, outputs);
	return 0;
}

static int gpio_rec_get_direction(struct gpio_chip *gc, unsigned int offset)
{
	return test_bit(offset, outputs) ? GPIO_LINE_DIRECTION_OUT :
					   GPIO_LINE_DIRECTION_IN;
}

static struct gpio_chip gpio_rec_chip = {
	.label = "siamedge-test",
	.owner = THIS_MODULE,
	.base = -1,
	.ngpio = GPIO_REC_LINES,
	.get = gpio_rec_get,
	.set = gpio_rec_set,
	.direction_output = gpio_rec_direction_output,
	.direction_input = gpio_rec_direction_input,
	.get_direction = gpio_rec_get_direction,
};

static int __init gpio_rec_init(void)
{
	return gpiochip_add_data(&gpio_rec_chip, NULL);
}

static void __exit gpio_rec_exit(void)
{
	gpiochip_remove(&gpio_rec_chip);
}

module_init(gpio_rec_init);
module_exit(gpio_rec_exit);

MODULE_DESCRIPTION("In-memory GPIO chip that logs output changes (siamedge VM test)");
MODULE_LICENSE("GPL");
