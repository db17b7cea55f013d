package report

// StatementPDFUTF8 draws a statement with the UTF-8 fonts whatever its
// text: the reference the Windows-1252 fast path is compared with.
func StatementPDFUTF8(in PDFInput) ([]byte, []string, error) { return statementPDF(in, false, false) }

// StatementPDFFpdfDeflate is StatementPDF with fpdf compressing the
// streams itself (utf8: with the UTF-8 fonts): the reference of the
// streams compressed after it.
func StatementPDFFpdfDeflate(in PDFInput, utf8 bool) ([]byte, []string, error) {
	return statementPDF(in, !utf8, true)
}
