package train

import "fmt"

// FieldError is an error in one setting of Config or MineOptions: a value
// out of range, or a file named there that cannot be used. Field is the
// setting's path ("Config.Epochs", "MineOptions.Print"), so a caller can
// say which of its own knobs set it; Err starts with the value at fault.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return "train: " + e.Field + " " + e.Err.Error() }

func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, a ...any) error {
	return &FieldError{Field: field, Err: fmt.Errorf(format, a...)}
}
