-- Every column of one trace (including the lakehouse's success criteria columns) for the detail panel.
SELECT * FROM execution_traces WHERE correlation_id = $correlation_id
