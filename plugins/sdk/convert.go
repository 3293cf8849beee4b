package sdk

import (
	"fmt"
	"time"

	pb "github.com/hdi-dev/hdi/plugins/sdk/providerpb"
	"github.com/hdi-dev/hdi/plugins/sdk/timerange"
	"google.golang.org/protobuf/proto"
)

// Conversions between the plain Go types of this package and the generated
// protobuf types.

func streamToPB(s Stream) (*pb.StreamInfo, error) {
	out := &pb.StreamInfo{
		Name: s.Name, Description: s.Description, Kind: pb.StreamKind_STREAM_KIND_DATA,
		KeyFields: s.Key, OnConflict: pb.ConflictPolicy_CONFLICT_POLICY_KEEP, TimeField: s.TimeField, Live: s.Live,
	}
	if s.Kind == KindDefinition {
		out.Kind = pb.StreamKind_STREAM_KIND_DEFINITION
	}
	if s.OnConflict == ConflictReplace {
		out.OnConflict = pb.ConflictPolicy_CONFLICT_POLICY_REPLACE
	}
	for _, r := range s.DefaultRules {
		out.DefaultRules = append(out.DefaultRules, &pb.Rule{
			Name: r.Name, Type: r.Type, Fields: r.Fields, Min: r.Min, Max: r.Max,
			Values: r.Values, Pattern: r.Pattern, Expr: r.Expr, Severity: r.Severity,
		})
	}
	if s.Schema != nil {
		b, err := EncodeSchema(s.Schema)
		if err != nil {
			return nil, fmt.Errorf("stream %q: %w", s.Name, err)
		}
		out.ArrowSchema = b
	}
	return out, nil
}

func streamFromPB(s *pb.StreamInfo) (Stream, error) {
	out := Stream{Name: s.GetName(), Description: s.GetDescription(), Key: s.GetKeyFields(), TimeField: s.GetTimeField(), Live: s.GetLive()}
	if s.GetKind() == pb.StreamKind_STREAM_KIND_DEFINITION {
		out.Kind = KindDefinition
	}
	if s.GetOnConflict() == pb.ConflictPolicy_CONFLICT_POLICY_REPLACE {
		out.OnConflict = ConflictReplace
	}
	for _, r := range s.GetDefaultRules() {
		out.DefaultRules = append(out.DefaultRules, Rule{
			Name: r.GetName(), Type: r.GetType(), Fields: r.GetFields(), Min: r.GetMin(), Max: r.GetMax(),
			Values: r.GetValues(), Pattern: r.GetPattern(), Expr: r.GetExpr(), Severity: r.GetSeverity(),
		})
	}
	if len(s.GetArrowSchema()) > 0 {
		schema, err := DecodeSchema(s.GetArrowSchema())
		if err != nil {
			return Stream{}, fmt.Errorf("stream %q: %w", s.GetName(), err)
		}
		out.Schema = schema
	}
	return out, nil
}

func streamsToPB(ss []Stream) ([]*pb.StreamInfo, error) {
	out := make([]*pb.StreamInfo, 0, len(ss))
	for _, s := range ss {
		p, err := streamToPB(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func streamsFromPB(ss []*pb.StreamInfo) ([]Stream, error) {
	out := make([]Stream, 0, len(ss))
	for _, s := range ss {
		g, err := streamFromPB(s)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

func descriptionToPB(d *Description) (*pb.DescribeResponse, error) {
	streams, err := streamsToPB(d.Streams)
	if err != nil {
		return nil, err
	}
	out := &pb.DescribeResponse{
		Name:               d.Name,
		Version:            d.Version,
		Description:        d.Description,
		Streams:            streams,
		ProtocolVersion:    ProtocolVersion,
		LiveReplayWindowMs: d.LiveReplay.Milliseconds(),
	}
	out.ConfigKeys = paramsToPB(d.Config)
	out.Params = paramsToPB(d.Params)
	return out, nil
}

func descriptionFromPB(r *pb.DescribeResponse) (*Description, error) {
	streams, err := streamsFromPB(r.GetStreams())
	if err != nil {
		return nil, err
	}
	out := &Description{
		Name:            r.GetName(),
		Version:         r.GetVersion(),
		Description:     r.GetDescription(),
		Streams:         streams,
		ProtocolVersion: int(r.GetProtocolVersion()),
		LiveReplay:      time.Duration(r.GetLiveReplayWindowMs()) * time.Millisecond,
	}
	out.Config = paramsFromPB(r.GetConfigKeys())
	out.Params = paramsFromPB(r.GetParams())
	return out, nil
}

func paramsToPB(ps []Param) []*pb.ConfigKey {
	var out []*pb.ConfigKey
	for _, k := range ps {
		out = append(out, &pb.ConfigKey{
			Name: k.Name, Type: pb.ConfigType(k.Type), DefaultValue: k.Default, HasDefault: k.HasDefault,
			Description: k.Description, Secret: k.Secret, Required: k.Required, AllowedValues: k.Allowed, Env: k.Env,
			Scope: pb.ParamScope(k.Scope),
		})
	}
	return out
}

func paramsFromPB(ks []*pb.ConfigKey) []Param {
	var out []Param
	for _, k := range ks {
		out = append(out, Param{
			Name: k.GetName(), Type: ParamType(k.GetType()), Default: k.GetDefaultValue(), HasDefault: k.GetHasDefault(),
			Description: k.GetDescription(), Secret: k.GetSecret(), Required: k.GetRequired(), Allowed: k.GetAllowedValues(), Env: k.GetEnv(),
			Scope: ParamScope(k.GetScope()),
		})
	}
	return out
}

func chunkingToPB(c Chunking) *pb.Chunking {
	return &pb.Chunking{SymbolsPerUnit: int32(c.SymbolsPerUnit), Length: chunkToPB(c.Length)}
}

// chunkToPB is a chunk length on the wire; nil for the zero Chunk.
func chunkToPB(c timerange.Chunk) *pb.ChunkLength {
	if c.IsZero() {
		return nil
	}
	return &pb.ChunkLength{Unit: pb.ChunkUnit(c.Unit()), Count: c.Count()}
}

// chunkFromPB reads a chunk length from the wire (nil: the zero Chunk).
func chunkFromPB(l *pb.ChunkLength) (timerange.Chunk, error) {
	if l == nil {
		return timerange.Chunk{}, nil
	}
	return timerange.NewChunk(timerange.ChunkUnit(l.GetUnit()), l.GetCount())
}

// chunkingFromPB reads the wire's chunking; a length the host should never
// send (an unknown unit, a count out of range) is a field error.
func chunkingFromPB(c *pb.Chunking) (Chunking, error) {
	out := Chunking{SymbolsPerUnit: int(c.GetSymbolsPerUnit())}
	ch, err := chunkFromPB(c.GetLength())
	if err != nil {
		return out, FieldError("chunking", "%v", err)
	}
	out.Length = ch
	return out, nil
}

func jobToPB(j *Job) *pb.PlanRequest {
	if j == nil {
		return &pb.PlanRequest{}
	}
	out := &pb.PlanRequest{
		Config:      j.Config,
		Stream:      j.Stream,
		Dataset:     j.Dataset,
		Symbols:     j.Symbols,
		StypeIn:     j.StypeIn,
		StypeOut:    j.StypeOut,
		StartNs:     j.Start,
		EndNs:       j.End,
		Limit:       j.Limit,
		Chunking:    chunkingToPB(j.Chunking),
		Files:       j.Files,
		Params:      j.Params,
		Replace:     j.Replace,
		Offline:     j.Offline,
		DryRun:      j.DryRun,
		Parallelism: int32(j.Parallelism),
		MaxUnits:    j.MaxUnits,
		Live:        j.Live,
		LiveStreams: j.LiveStreams,
	}
	for _, c := range j.Columns {
		out.Columns = append(out.Columns, &pb.ColumnSpec{
			Name:      c.Name,
			Type:      pb.ColumnType(c.Type),
			Format:    c.Format,
			Timezone:  c.Timezone,
			Nullable:  c.Nullable,
			Source:    c.Source,
			Scale:     int32(c.Scale),
			Precision: int32(c.Precision),
			Length:    int32(c.Length),
			Bits:      int32(c.Bits),
		})
	}
	return out
}

func jobFromPB(r *pb.PlanRequest) (*Job, error) {
	chunking, err := chunkingFromPB(r.GetChunking())
	if err != nil {
		return nil, err
	}
	out := &Job{
		Config:      r.GetConfig(),
		Stream:      r.GetStream(),
		Dataset:     r.GetDataset(),
		Symbols:     r.GetSymbols(),
		StypeIn:     r.GetStypeIn(),
		StypeOut:    r.GetStypeOut(),
		Start:       r.GetStartNs(),
		End:         r.GetEndNs(),
		Limit:       r.GetLimit(),
		Chunking:    chunking,
		Files:       r.GetFiles(),
		Params:      r.GetParams(),
		Replace:     r.GetReplace(),
		Offline:     r.GetOffline(),
		DryRun:      r.GetDryRun(),
		Parallelism: int(r.GetParallelism()),
		MaxUnits:    r.GetMaxUnits(),
		Live:        r.GetLive(),
		LiveStreams: r.GetLiveStreams(),
	}
	for _, c := range r.GetColumns() {
		out.Columns = append(out.Columns, Column{
			Name:      c.GetName(),
			Type:      ColumnType(c.GetType()),
			Format:    c.GetFormat(),
			Timezone:  c.GetTimezone(),
			Nullable:  c.GetNullable(),
			Source:    c.GetSource(),
			Scale:     int(c.GetScale()),
			Precision: int(c.GetPrecision()),
			Length:    int(c.GetLength()),
			Bits:      int(c.GetBits()),
		})
	}
	return out, nil
}

func unitToPB(u *Unit) *pb.WorkUnit {
	out := &pb.WorkUnit{
		Key:      u.Key,
		Stream:   u.Stream,
		Dataset:  u.Dataset,
		StartNs:  u.Start,
		EndNs:    u.End,
		Symbols:  u.Symbols,
		Files:    u.Files,
		Params:   u.Params,
		WholeKey: u.WholeKey,
		Note:     u.Note,
	}
	if u.EstimatedRows != nil {
		out.EstimatedRows = proto.Int64(*u.EstimatedRows)
	}
	if u.EstimatedBytes != nil {
		out.EstimatedBytes = proto.Int64(*u.EstimatedBytes)
	}
	if u.EstimatedCostUSD != nil {
		out.EstimatedCostUsd = proto.Float64(*u.EstimatedCostUSD)
	}
	return out
}

func unitFromPB(u *pb.WorkUnit) Unit {
	out := Unit{
		Key:      u.GetKey(),
		Stream:   u.GetStream(),
		Dataset:  u.GetDataset(),
		Start:    u.GetStartNs(),
		End:      u.GetEndNs(),
		Symbols:  u.GetSymbols(),
		Files:    u.GetFiles(),
		Params:   u.GetParams(),
		WholeKey: u.GetWholeKey(),
		Note:     u.GetNote(),
	}
	if u.EstimatedRows != nil {
		out.EstimatedRows = Int64(u.GetEstimatedRows())
	}
	if u.EstimatedBytes != nil {
		out.EstimatedBytes = Int64(u.GetEstimatedBytes())
	}
	if u.EstimatedCostUsd != nil {
		out.EstimatedCostUSD = Float64(u.GetEstimatedCostUsd())
	}
	return out
}

func planToPB(p *Plan) (*pb.PlanResponse, error) {
	streams, err := streamsToPB(p.Streams)
	if err != nil {
		return nil, err
	}
	out := &pb.PlanResponse{Warnings: p.Warnings, Streams: streams, Units: make([]*pb.WorkUnit, 0, len(p.Units))}
	for i := range p.Units {
		out.Units = append(out.Units, unitToPB(&p.Units[i]))
	}
	return out, nil
}

func planFromPB(r *pb.PlanResponse) (*Plan, error) {
	streams, err := streamsFromPB(r.GetStreams())
	if err != nil {
		return nil, err
	}
	out := &Plan{Warnings: r.GetWarnings(), Streams: streams, Units: make([]Unit, 0, len(r.GetUnits()))}
	for _, u := range r.GetUnits() {
		out.Units = append(out.Units, unitFromPB(u))
	}
	return out, nil
}

func mappingsToPB(ms []SymbolMapping) *pb.SymbolMappings {
	out := &pb.SymbolMappings{Mappings: make([]*pb.SymbolMapping, len(ms))}
	for i, m := range ms {
		out.Mappings[i] = &pb.SymbolMapping{
			Dataset:   m.Dataset,
			StypeIn:   m.StypeIn,
			InSymbol:  m.InSymbol,
			StypeOut:  m.StypeOut,
			OutSymbol: m.OutSymbol,
			StartDate: m.StartDate,
			EndDate:   m.EndDate,
		}
	}
	return out
}

func mappingsFromPB(r *pb.SymbolMappings) []SymbolMapping {
	out := make([]SymbolMapping, len(r.GetMappings()))
	for i, m := range r.GetMappings() {
		out[i] = SymbolMapping{
			Dataset:   m.GetDataset(),
			StypeIn:   m.GetStypeIn(),
			InSymbol:  m.GetInSymbol(),
			StypeOut:  m.GetStypeOut(),
			OutSymbol: m.GetOutSymbol(),
			StartDate: m.GetStartDate(),
			EndDate:   m.GetEndDate(),
		}
	}
	return out
}

func progressToPB(p Progress) *pb.Progress {
	out := &pb.Progress{Done: p.Done, Unit: pb.ProgressUnit(p.Unit)}
	if p.HasTotal {
		out.Total = proto.Int64(p.Total)
	}
	return out
}

func progressFromPB(p *pb.Progress) Progress {
	return Progress{Done: p.GetDone(), Total: p.GetTotal(), HasTotal: p.Total != nil, Unit: ProgressUnit(p.GetUnit())}
}

func rowErrorToPB(e RowError) *pb.RowError {
	return &pb.RowError{File: e.File, Line: e.Line, Column: e.Column, Message: e.Message, Raw: e.Raw, Stream: e.Stream}
}

func rowErrorFromPB(e *pb.RowError) RowError {
	return RowError{File: e.GetFile(), Line: e.GetLine(), Column: e.GetColumn(), Message: e.GetMessage(), Raw: e.GetRaw(), Stream: e.GetStream()}
}

func livePositionsToPB(ps []LivePosition) []*pb.LivePosition {
	out := make([]*pb.LivePosition, 0, len(ps))
	for _, p := range ps {
		out = append(out, &pb.LivePosition{Stream: p.Stream, TsNs: p.Time, Sequence: p.Sequence})
	}
	return out
}

func livePositionsFromPB(ps []*pb.LivePosition) []LivePosition {
	var out []LivePosition
	for _, p := range ps {
		out = append(out, LivePosition{Stream: p.GetStream(), Time: p.GetTsNs(), Sequence: p.GetSequence()})
	}
	return out
}

func liveCheckpointToPB(c LiveCheckpoint) *pb.LiveCheckpoint {
	return &pb.LiveCheckpoint{Positions: livePositionsToPB(c.Positions), SourceTsNs: c.SourceTime, Behind: c.Behind}
}

func liveCheckpointFromPB(c *pb.LiveCheckpoint) LiveCheckpoint {
	return LiveCheckpoint{Positions: livePositionsFromPB(c.GetPositions()), SourceTime: c.GetSourceTsNs(), Behind: c.GetBehind()}
}
