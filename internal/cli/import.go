package cli

import "github.com/urfave/cli/v3"

func importCommand() *cli.Command {
	return &cli.Command{Name: "import", Usage: "import persons and their consents from a CSV file"}
}
