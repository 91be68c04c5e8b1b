/* flash_cmd.c: `tandem flash`; the flash store work replaces this file. */
#include <stdio.h>

#include "tool/tool.h"

int tool_flash(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	tool_usage_error("flash: not built yet");
	return TOOL_EXIT_FAILURE;
}
